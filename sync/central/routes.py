"""The central service's endpoints, by area: health, enrollment, envelopes, updates. Each handler
takes what it needs as dependencies (the services, the terminal a signed request comes from) and
hands the work to a service off the event loop; none reads the store or checks a signature itself.
`sync/PROTOCOL.md` section 5 describes the same endpoints for implementers."""

from __future__ import annotations

import asyncio
import base64
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError

from county_common.canonical_json import loads
from sync.central.errors import CentralError
from sync.central.ingest import MAX_BATCH_ENVELOPES, IngestService
from sync.central.schemas import (
    EnrollRequest,
    EnrollRequestV1,
    EnrollResponse,
    ErrorBody,
    Health,
    IngestResponse,
    UpdateKind,
    UpdateList,
)
from sync.central.store import CentralStore, Terminal
from sync.central.terminals import TerminalRegistry
from sync.central.updates import UpdateService
from sync.envelope import WIRE_VERSION, listing_bytes

MAX_BATCH_BYTES = 16 << 20
MAX_ENROLL_BYTES = 4 << 10  # an enrollment is a few hundred bytes
BODY_DEADLINE_S = 120.0  # a whole body, however it trickles: an 8 MiB batch at 70 KB/s
ENROLL_SCHEMA = EnrollRequest.model_json_schema()  # the body is read by hand: v1 is not in the document
NDJSON = "application/x-ndjson"
ERRORS = {status: {"model": ErrorBody} for status in (400, 403, 404, 409, 413, 415)}
AUTH_ERRORS = {status: {"model": ErrorBody} for status in (400, 401, 403, 404)}
TerminalId = Annotated[str, Header(alias="X-Terminal-Id", max_length=16, description="T-<county>-<serial>")]
TerminalTime = Annotated[str, Header(alias="X-Terminal-Time", max_length=12, description="unix seconds")]
TerminalNonce = Annotated[
    str | None,
    Header(alias="X-Terminal-Nonce", max_length=64, description="base64url random, new for each request (v2)"),
]
TerminalAudit = Annotated[
    str | None,
    Header(alias="X-Terminal-Audit-Head", max_length=80, description="the terminal's audit chain head, seq:mac (v2)"),
]
TerminalSignature = Annotated[
    str,
    Header(
        alias="X-Terminal-Signature",
        max_length=128,
        description="base64 Ed25519 over the request context, method, path, terminal id and time",
    ),
]


@dataclass(frozen=True)
class Services:
    """What the handlers work with, made once per process (`create_app`)."""

    store: CentralStore
    terminals: TerminalRegistry
    ingest: IngestService
    updates: UpdateService
    body_stall_s: float = 10.0  # a request body that sends nothing for this long is given up on


async def read_body(request: Request, limit: int, what: str, stall_s: float) -> bytes:
    """The request's body, refused while it streams once past `limit` (413), when it stalls for
    `stall_s` or has taken longer than BODY_DEADLINE_S in all (408): a client that stops, or
    trickles a byte at a time, cannot hold a worker or its memory."""
    body = bytearray()
    chunks = request.stream().__aiter__()
    deadline = asyncio.get_running_loop().time() + BODY_DEADLINE_S
    while True:
        left = deadline - asyncio.get_running_loop().time()
        try:
            chunk = await asyncio.wait_for(chunks.__anext__(), min(stall_s, max(left, 0.0)))
        except StopAsyncIteration:
            return bytes(body)
        except TimeoutError:
            raise CentralError("timeout", f"{what} stalled: nothing arrived for {stall_s:.0f} s", 408) from None
        body += chunk
        if len(body) > limit:
            raise CentralError("oversize", f"{what} is at most {limit} bytes", 413)


def services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(services)]


async def authenticated_terminal(
    request: Request,
    services: ServicesDep,
    terminal_id: TerminalId,
    timestamp: TerminalTime,
    signature: TerminalSignature,
    nonce: TerminalNonce = None,
    audit: TerminalAudit = None,
) -> Terminal:
    """The enrolled, active terminal that signed this request (its method, path, time, nonce and
    audit head)."""
    return await run_in_threadpool(
        lambda: services.terminals.authenticate(
            terminal_id, timestamp, signature, request.method, request.url.path, nonce=nonce, audit=audit
        )
    )


AuthenticatedTerminal = Annotated[Terminal, Depends(authenticated_terminal)]

health = APIRouter(prefix="/v1", tags=["health"])
enrollment = APIRouter(prefix="/v1", tags=["enrollment"])
envelopes = APIRouter(prefix="/v1", tags=["envelopes"])
updates = APIRouter(prefix="/v1", tags=["updates"])
ROUTERS = (health, enrollment, envelopes, updates)


@health.get("/health", response_model=Health)
async def service_health(services: ServicesDep) -> Health:
    return Health(status="ok", wire_version=WIRE_VERSION, store=services.store.dialect)


@enrollment.post(
    "/enroll",
    response_model=EnrollResponse,
    response_model_exclude_none=True,
    responses=ERRORS,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": ENROLL_SCHEMA}}}},
)
async def enroll(request: Request, services: ServicesDep) -> dict:
    """Register a terminal's public key, proving knowledge of a one-time code issued by
    `kiosk-central enroll-code` without sending it (version 2). Version 1, the code in clear, only
    where the service was started to accept it."""
    body = await read_body(request, MAX_ENROLL_BYTES, "an enrollment request", services.body_stall_s)
    try:
        data = loads(body)
    except ValueError:
        raise CentralError("malformed", "the enrollment request is not JSON") from None
    if not isinstance(data, dict):
        raise CentralError("malformed", "the enrollment request must be a JSON object")
    if "v" not in data:  # a `v` that is not the integer 2 is malformed below, before anything else is read
        services.terminals.check_version(data)
    shape = EnrollRequest if "v" in data else EnrollRequestV1
    try:
        checked = shape.model_validate(data)
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        raise CentralError("malformed", problems[:500]) from None
    return await run_in_threadpool(services.terminals.enroll, checked.model_dump())


@envelopes.post(
    "/envelopes",
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
async def ingest(request: Request, services: ServicesDep) -> dict:
    """Store a batch of envelopes; each gets a signed receipt or a refusal with its code.
    Re-sending an envelope is safe: its receipt is the first one, signed by the key in use now."""
    if request.headers.get("content-type", "").split(";")[0].strip() != NDJSON:
        raise CentralError("unsupported_media_type", f"send envelopes as {NDJSON}, one per line", 415)
    body = await read_body(request, MAX_BATCH_BYTES, "a batch", services.body_stall_s)
    wires = [line for line in body.split(b"\n") if line.strip()]  # an empty batch: no results
    outcomes = await run_in_threadpool(services.ingest.ingest, wires)
    return {"results": [outcome.as_dict() for outcome in outcomes]}


@updates.get("/updates", response_model=UpdateList, responses=AUTH_ERRORS)
async def list_updates(
    terminal: AuthenticatedTerminal, services: ServicesDep, nonce: TerminalNonce = None, audit: TerminalAudit = None
) -> dict:
    """The newest config, blocklist, roster and model update addressed to the signing terminal,
    with the highest audit head it has reported, signed with this request's nonce: a terminal
    knows the listing answers it now (it is not being kept stale), and that its audit chain was
    not cut back."""

    def listing() -> dict:
        latest = services.updates.latest_for(terminal)
        head = services.store.note_audit_head(terminal.terminal_id, _audit_head(audit))
        body = {
            "terminal_id": terminal.terminal_id,
            "nonce": nonce,
            "time": int(time.time()),
            "updates": [item.as_dict() for item in latest],
            "audit_head": {"seq": head[0], "mac": head[1]} if head else None,
        }
        signature = services.ingest.signing_key.sign(listing_bytes(body))
        return {**body, "sig": base64.b64encode(signature).decode()}

    return await run_in_threadpool(listing)


def _audit_head(header: str | None) -> tuple[int, str] | None:
    if header is None:
        return None
    seq, mac = header.split(":")  # checked against AUDIT_HEAD_PATTERN when the request was authenticated
    return int(seq), mac


@updates.get(
    "/updates/{kind}/{version}",
    responses={**AUTH_ERRORS, 200: {"content": {"application/octet-stream": {}}}},
    response_class=Response,
)
async def get_update(
    kind: Annotated[UpdateKind, PathParam()],
    version: Annotated[int, PathParam(ge=1, lt=2**53)],
    terminal: AuthenticatedTerminal,
    services: ServicesDep,
) -> Response:
    """One signed update, byte for byte (see sync/PROTOCOL.md section 8 for its layout)."""
    body = await run_in_threadpool(services.updates.body_for, terminal, kind, version)
    return Response(body, media_type="application/octet-stream")
