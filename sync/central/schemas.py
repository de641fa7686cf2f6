"""The central service's request and response bodies, as the OpenAPI document shows them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from sync.update import KINDS

UpdateKind = Literal[KINDS]  # type: ignore[valid-type]


class ErrorDetail(BaseModel):
    code: str = Field(description="stable protocol error code, e.g. bad_signature")
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


class ReceiptBody(BaseModel):
    envelope_id: str
    terminal_id: str
    seq: int
    envelope_sha256: str
    stored_at: str
    sig: str = Field(description="base64 Ed25519 signature by a central signing key")


class EnvelopeResult(BaseModel):
    status: Literal["stored", "duplicate", "refused"]
    envelope_id: str | None
    receipt: ReceiptBody | None = None
    error: ErrorDetail | None = None


class IngestResponse(BaseModel):
    results: list[EnvelopeResult] = Field(description="one per envelope line, in order")


class EnrollRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    v: StrictInt | None = Field(default=None, description="2 (absent: version 1, accepted only where configured)")
    terminal_id: str = Field(pattern=r"^T-\d{6}-\d{4}$")
    public_key: str = Field(max_length=64, description="base64 of the terminal's 32-byte Ed25519 public key")
    nonce: str | None = Field(default=None, max_length=64, description="v2: base64 of 16 fresh random bytes")
    proof: str | None = Field(default=None, max_length=64, description="v2: base64 HMAC-SHA256 under the code's digest")
    code: str | None = Field(default=None, max_length=64, description="v1 only: the one-time code, in clear")
    sig: str = Field(max_length=128, description="base64 Ed25519 signature over the request by that key")


class EnrollResponse(BaseModel):
    v: int | None = None
    terminal_id: str
    county: str
    status: str
    enrolled_at: str | None
    public_key: str | None = Field(default=None, description="v2: the key enrolled, signed over")
    nonce: str | None = Field(default=None, description="v2: the request's nonce, signed over")
    sig: str


class UpdateInfo(BaseModel):
    kind: UpdateKind
    version: int
    audience: list[str]
    issued_at: str
    sha256: str = Field(description="SHA-256 of the update's bytes")
    size: int


class UpdateList(BaseModel):
    updates: list[UpdateInfo] = Field(description="the newest update of each kind addressed to this terminal")


class Health(BaseModel):
    status: Literal["ok"]
    wire_version: int
    store: str
