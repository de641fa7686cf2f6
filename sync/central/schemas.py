"""The central service's request and response bodies, as the OpenAPI document shows them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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
    """Enrollment version 2 (sync/PROTOCOL.md section 5): the code is proved, never sent."""

    model_config = ConfigDict(extra="forbid", strict=True)

    v: Literal[2]
    terminal_id: str = Field(pattern=r"^T-[0-9]{6}-[0-9]{4}$")
    public_key: str = Field(max_length=64, description="base64 of the terminal's 32-byte Ed25519 public key")
    nonce: str = Field(min_length=1, max_length=64, description="base64 of 16 fresh random bytes")
    proof: str = Field(min_length=1, max_length=64, description="base64 HMAC-SHA256 keyed by the code's SHA-256")
    sig: str = Field(max_length=128, description="base64 Ed25519 signature over the request by that key")


class EnrollRequestV1(BaseModel):
    """Enrollment version 1, the code in clear: accepted only by a service started to accept it."""

    model_config = ConfigDict(extra="forbid", strict=True)

    terminal_id: str = Field(pattern=r"^T-[0-9]{6}-[0-9]{4}$")
    public_key: str = Field(max_length=64)
    code: str = Field(max_length=64)
    sig: str = Field(max_length=128)


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


class AuditHead(BaseModel):
    seq: int
    mac: str


class UpdateList(BaseModel):
    terminal_id: str
    nonce: str | None = Field(description="the request's X-Terminal-Nonce, echoed (null for a v1 request)")
    time: int = Field(description="the service's clock, unix seconds")
    updates: list[UpdateInfo] = Field(description="the newest update of each kind addressed to this terminal")
    audit_head: AuditHead | None = Field(description="the highest audit chain head this terminal has reported")
    sig: str = Field(description="base64 Ed25519 by a central key over the listing (sync/PROTOCOL.md 8.3)")


class Health(BaseModel):
    status: Literal["ok"]
    wire_version: int
    store: str
