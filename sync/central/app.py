"""The central sync service's HTTP API (FastAPI on uvicorn): the routers of routes.py over the
services made here once, and one error body for every refusal. The OpenAPI document is served at
`/openapi.json`; `sync/PROTOCOL.md` section 5 describes the same endpoints for implementers."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from sync.central.errors import CentralError
from sync.central.ingest import IngestService
from sync.central.routes import ROUTERS, Services
from sync.central.store import CentralStore
from sync.central.updates import UpdateService
from sync.envelope import WIRE_VERSION
from sync.keys import load_private_key

DB_ENV = "KIOSK_CENTRAL_DB"
SIGNING_KEY_ENV = "KIOSK_CENTRAL_SIGNING_KEY"
ACCEPT_V1_ENROLLMENT_ENV = "KIOSK_CENTRAL_ACCEPT_V1_ENROLLMENT"  # "1": terminals not yet updated may enrol with v1
ACCEPT_V1_REQUESTS_ENV = "KIOSK_CENTRAL_ACCEPT_V1_REQUESTS"  # "1": signed requests without a nonce are taken
DOCS_ENV = "KIOSK_CENTRAL_DOCS"  # "1": serve /docs and /redoc (development)
BODY_STALL_ENV = "KIOSK_CENTRAL_BODY_STALL_S"  # seconds a request body may send nothing (default 10)
HTTP_CODES = {400: "malformed", 404: "not_found", 405: "method_not_allowed"}


def create_app(
    store: CentralStore,
    signing_key: ed25519.Ed25519PrivateKey,
    *,
    accept_v1_enrollment: bool = False,
    accept_v1_requests: bool = False,
    docs: bool = False,
    body_stall_s: float = 10.0,
) -> FastAPI:
    """The service; `docs` serves the interactive /docs and /redoc pages (development only: the
    OpenAPI document itself is always at /openapi.json)."""
    ingest = IngestService(store, signing_key)
    ingest.terminals.accept_v1_enrollment = accept_v1_enrollment
    ingest.terminals.accept_v1_requests = accept_v1_requests
    app = FastAPI(
        title="County terminal central sync service",
        version=str(WIRE_VERSION),
        description="Receives sealed, signed application envelopes from enrolled county terminals.",
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
    )
    app.state.services = Services(store, ingest.terminals, ingest, UpdateService(store), body_stall_s)
    _error_bodies(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


def _error_bodies(app: FastAPI) -> None:
    """Every refusal as {"error": {"code", "message"}} with its status (sync/PROTOCOL.md)."""

    @app.exception_handler(CentralError)
    async def central_error(_request: Request, error: CentralError) -> JSONResponse:
        return JSONResponse({"error": {"code": error.code, "message": error.message}}, status_code=error.status)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(error.status_code, f"http_{error.status_code}")
        body = {"error": {"code": code, "message": str(error.detail)}}
        return JSONResponse(body, status_code=error.status_code, headers=getattr(error, "headers", None))

    @app.exception_handler(RecursionError)
    async def nested_too_deep(_request: Request, _error: RecursionError) -> JSONResponse:
        body = {"error": {"code": "malformed", "message": "the JSON is nested too deep"}}
        return JSONResponse(body, status_code=400)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, error: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
        return JSONResponse({"error": {"code": "malformed", "message": problems[:500]}}, status_code=400)


def app_from_env() -> FastAPI:
    """For `uvicorn --factory` with several workers: the store and key come from the environment."""
    key = load_private_key(Path(os.environ[SIGNING_KEY_ENV]), ed25519.Ed25519PrivateKey)
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    accept_v1 = os.environ.get(ACCEPT_V1_ENROLLMENT_ENV) == "1"
    accept_v1_requests = os.environ.get(ACCEPT_V1_REQUESTS_ENV) == "1"
    docs = os.environ.get(DOCS_ENV) == "1"
    stall = float(os.environ.get(BODY_STALL_ENV) or 10.0)
    return create_app(
        CentralStore(os.environ[DB_ENV]),
        key,
        accept_v1_enrollment=accept_v1,
        accept_v1_requests=accept_v1_requests,
        docs=docs,
        body_stall_s=stall,
    )
