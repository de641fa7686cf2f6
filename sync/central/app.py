"""The central sync service's HTTP API (FastAPI on uvicorn). The OpenAPI document is served at
`/openapi.json`; `sync/PROTOCOL.md` section 5 describes the same endpoints for implementers."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Literal

from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI, Header, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from sync.central.ingest import MAX_BATCH_ENVELOPES, CentralError, IngestService
from sync.central.store import CentralStore, Terminal
from sync.central.updates import UpdateService
from sync.envelope import WIRE_VERSION
from sync.keys import load_private_key
from sync.update import KINDS

MAX_BATCH_BYTES = 16 << 20
NDJSON = "application/x-ndjson"
DB_ENV = "KIOSK_CENTRAL_DB"
SIGNING_KEY_ENV = "KIOSK_CENTRAL_SIGNING_KEY"
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
    terminal_id: str = Field(pattern=r"^T-\d{6}-\d{4}$")
    public_key: str = Field(max_length=64, description="base64 of the terminal's 32-byte Ed25519 public key")
    code: str = Field(max_length=64, description="the one-time enrollment code")
    sig: str = Field(max_length=128, description="base64 Ed25519 signature over the request by that key")


class EnrollResponse(BaseModel):
    terminal_id: str
    county: str
    status: str
    enrolled_at: str | None
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


HTTP_CODES = {400: "malformed", 404: "not_found", 405: "method_not_allowed"}
ERRORS = {status: {"model": ErrorBody} for status in (400, 403, 404, 409, 413, 415)}
AUTH_ERRORS = {status: {"model": ErrorBody} for status in (400, 401, 403, 404)}
TerminalId = Annotated[str, Header(alias="X-Terminal-Id", max_length=16, description="T-<county>-<serial>")]
TerminalTime = Annotated[str, Header(alias="X-Terminal-Time", max_length=12, description="unix seconds")]
TerminalSignature = Annotated[
    str,
    Header(
        alias="X-Terminal-Signature",
        max_length=128,
        description="base64 Ed25519 over the request context, method, path, terminal id and time",
    ),
]


def create_app(store: CentralStore, signing_key: ed25519.Ed25519PrivateKey) -> FastAPI:
    service = IngestService(store, signing_key)
    update_service = UpdateService(store)
    app = FastAPI(
        title="County terminal central sync service",
        version=str(WIRE_VERSION),
        description="Receives sealed, signed application envelopes from enrolled county terminals.",
    )
    app.state.service = service

    @app.exception_handler(CentralError)
    async def central_error(_request: Request, error: CentralError) -> JSONResponse:
        return JSONResponse({"error": {"code": error.code, "message": error.message}}, status_code=error.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(error.status_code, f"http_{error.status_code}")
        body = {"error": {"code": code, "message": str(error.detail)}}
        return JSONResponse(body, status_code=error.status_code, headers=getattr(error, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return JSONResponse({"error": {"code": "malformed", "message": problems[:500]}}, status_code=400)

    @app.get("/v1/health", response_model=Health)
    async def health() -> Health:
        return Health(status="ok", wire_version=WIRE_VERSION, store=store.dialect)

    @app.post("/v1/enroll", response_model=EnrollResponse, responses=ERRORS)
    async def enroll(request: EnrollRequest) -> dict:
        """Register a terminal's public key with a one-time code issued by `kiosk-central enroll-code`."""
        return await run_in_threadpool(
            service.enroll, request.terminal_id, request.public_key, request.code, request.sig
        )

    @app.post(
        "/v1/envelopes",
        response_model=IngestResponse,
        responses=ERRORS,
        openapi_extra={
            "requestBody": {
                "required": True,
                "description": f"Up to {MAX_BATCH_ENVELOPES} envelopes, one per line, as written by the terminal "
                f"(at most {MAX_BATCH_BYTES} bytes in all).",
                "content": {NDJSON: {"schema": {"type": "string"}}},
            }
        },
    )
    async def ingest(request: Request) -> dict:
        """Store a batch of envelopes; each gets a signed receipt or a refusal with its code.
        Re-sending an envelope is safe: it gets the receipt it got the first time."""
        if request.headers.get("content-type", "").split(";")[0].strip() != NDJSON:
            raise CentralError("unsupported_media_type", f"send envelopes as {NDJSON}, one per line", 415)
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BATCH_BYTES:
                raise CentralError("oversize", f"a batch is at most {MAX_BATCH_BYTES} bytes", 413)
        wires = [line for line in bytes(body).split(b"\n") if line.strip()]  # an empty batch: no results
        outcomes = await run_in_threadpool(service.ingest, wires)
        return {"results": [outcome.as_dict() for outcome in outcomes]}

    async def _terminal(request: Request, terminal_id: str, timestamp: str, signature: str) -> Terminal:
        return await run_in_threadpool(
            service.authenticate, terminal_id, timestamp, signature, request.method, request.url.path
        )

    @app.get("/v1/updates", response_model=UpdateList, responses=AUTH_ERRORS)
    async def list_updates(
        request: Request, terminal_id: TerminalId, timestamp: TerminalTime, signature: TerminalSignature
    ) -> dict:
        """The newest config, blocklist, roster and model update addressed to the signing terminal."""
        terminal = await _terminal(request, terminal_id, timestamp, signature)
        latest = await run_in_threadpool(update_service.latest_for, terminal)
        return {"updates": [item.as_dict() for item in latest]}

    @app.get(
        "/v1/updates/{kind}/{version}",
        responses={**AUTH_ERRORS, 200: {"content": {"application/octet-stream": {}}}},
        response_class=Response,
    )
    async def get_update(
        request: Request,
        kind: Annotated[UpdateKind, PathParam()],
        version: Annotated[int, PathParam(ge=1, lt=2**53)],
        terminal_id: TerminalId,
        timestamp: TerminalTime,
        signature: TerminalSignature,
    ) -> Response:
        """One signed update, byte for byte (see sync/PROTOCOL.md section 8 for its layout)."""
        terminal = await _terminal(request, terminal_id, timestamp, signature)
        body = await run_in_threadpool(update_service.body_for, terminal, kind, version)
        return Response(body, media_type="application/octet-stream")

    return app


def app_from_env() -> FastAPI:
    """For `uvicorn --factory` with several workers: the store and key come from the environment."""
    key = load_private_key(Path(os.environ[SIGNING_KEY_ENV]), ed25519.Ed25519PrivateKey)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return create_app(CentralStore(os.environ[DB_ENV]), key)
