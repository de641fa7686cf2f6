"""A blocklist update's files, made at the central side: keyed digests of the numbers under a
fresh key (county_common.keyed_digests), never the numbers."""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterable

from county_common.keyed_digests import keyed_digest, normalise_id_number, normalise_phone
from kiosk_config.updates import BLOCKLIST_FILE


def make_blocklist_files(
    id_numbers: Iterable[str], phones: Iterable[str], key: bytes | None = None
) -> dict[str, bytes]:
    """The files of a blocklist update: a fresh key unless one is given."""
    key = key or secrets.token_bytes(32)
    content = {
        "algorithm": "hmac-sha256",
        "key": base64.b64encode(key).decode(),
        "id_numbers": sorted({keyed_digest(key, "id", normalise_id_number(n)) for n in id_numbers}),
        "phones": sorted({keyed_digest(key, "phone", normalise_phone(p)) for p in phones}),
    }
    return {BLOCKLIST_FILE: json.dumps(content, indent=0).encode()}
