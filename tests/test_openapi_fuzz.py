"""The central service's OpenAPI document, fuzzed with schemathesis: generated and mutated
requests for every operation, and no answer is a server error or breaks the documented schema."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric import ed25519
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from sync.central.app import create_app
from sync.central.store import CentralStore

pytestmark = pytest.mark.integration  # servers on loopback, PostgreSQL or child processes

# Envelope batches: random bytes, lines of random text or JSON, lines cut out of real-looking envelopes.
_lines = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(str.encode),
    st.dictionaries(
        st.sampled_from(["v", "meta", "sealed", "sig"]), st.one_of(st.integers(), st.text(max_size=40))
    ).map(lambda d: json.dumps(d).encode()),
)
schemathesis.openapi.media_type("application/x-ndjson", st.lists(_lines, max_size=5).map(b"\n".join))

_store = CentralStore(str(Path(tempfile.mkdtemp(prefix="kiosk-fuzz-")) / "central.sqlite"))
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(_store, ed25519.Ed25519PrivateKey.generate()))


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_makes_the_service_fail(case):
    case.call_and_validate()
