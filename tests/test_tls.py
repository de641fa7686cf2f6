"""Terminal to central service over TLS with the service's certificate pinned in the config: the
terminal trusts only the pinned certificate (never the system's store), a service showing another
is refused with nothing sent or lost, and plain HTTP is allowed only on loopback, by the config
and by `kiosk-central serve`."""

from __future__ import annotations

import datetime
import ipaddress
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk_config import ConfigError, load_config
from sync.central.process import CentralProcess
from sync.central.store import CentralStore
from sync.central.terminals import TerminalRegistry
from sync.central_cli import main as central_main
from sync.envelope import WireError
from sync.keys import private_pem, write_private_file
from terminal_app.core.kiosk import Kiosk

pytestmark = pytest.mark.integration


def certificate(directory: Path, name: str) -> tuple[Path, Path, str]:
    """A self-signed certificate for 127.0.0.1 (the service's own, pinned as is): its file, its
    key's file, its PEM text."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
    cert_file.write_text(pem, "utf-8")
    write_private_file(key_file, private_pem(key))
    return cert_file, key_file, pem


def pinned_config(central, path: Path, url: str, pem: str) -> Path:
    config = central.write_config(path, url=url)
    text = re.sub(r"(?m)^(\[central\].*\n)", lambda m: f'{m.group(1)}tls_certificates = """\n{pem}"""\n',
                  config.read_text("utf-8"), count=1)  # fmt: skip
    config.write_text(text, "utf-8")
    return config


@pytest.fixture
def tls_central(tmp_path, central, central_key_file):
    cert, key, pem = certificate(tmp_path, "central")
    server = CentralProcess(str(tmp_path / "central.sqlite"), central_key_file, tls=(cert, key)).start()
    yield server, pem
    server.stop()


def issue_code(server: CentralProcess, terminal_id: str) -> str:
    store = CentralStore(server.db)
    try:
        return TerminalRegistry(store).issue_code(terminal_id)
    finally:
        store.close()


def test_a_terminal_pinning_the_services_certificate_enrols_and_syncs_over_https(tmp_path, central, tls_central):
    server, pem = tls_central
    assert server.url.startswith("https://")
    kiosk = Kiosk.start(pinned_config(central, tmp_path / "kiosk.toml", server.url + "/", pem), tmp_path / "data")
    kiosk.enroll(issue_code(server, kiosk.config.terminal.id))
    kiosk.outbox.submit({"application_id": "over-tls"})
    report = kiosk.sync_client().sync_once()
    assert report.ok and report.stored == 1 and kiosk.outbox.status()["queued"] == 0
    pinned = kiosk.vault.data_dir / "central-tls.pem"
    assert pinned.read_text("utf-8") == pem and pinned.stat().st_mode & 0o077 == 0
    kiosk.close()


def test_a_service_showing_another_certificate_is_refused_and_nothing_is_sent_or_lost(
    tmp_path, central, tls_central, monkeypatch
):
    server, _ = tls_central
    _, _, other = certificate(tmp_path, "impostor")  # what the terminal was told to trust
    # the environment's CA bundle trusts the service's certificate: the pin must still win
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "central.pem"))
    kiosk = Kiosk.start(pinned_config(central, tmp_path / "kiosk.toml", server.url + "/", other), tmp_path / "data")
    with pytest.raises(WireError) as refused:
        kiosk.enroll(issue_code(server, kiosk.config.terminal.id))
    assert refused.value.code == "tls_untrusted"
    kiosk.outbox.submit({"application_id": "kept"})
    report = kiosk.sync_client().sync_once()
    assert report.error.code == "tls_untrusted" and report.sent == 0 and kiosk.outbox.status()["queued"] == 1
    kiosk.close()


def test_the_config_allows_plain_http_only_on_loopback_and_https_only_with_a_pinned_certificate(tmp_path, central):
    for url, words in (("http://central.example.cn/", "plain http only"), ("https://central.example.cn/", "tls")):
        config = central.write_config(tmp_path / "bad.toml", url=url)
        with pytest.raises(ConfigError) as refused:
            load_config(config)
        assert words in str(refused.value) and "central" in str(refused.value)
    broken = pinned_config(central, tmp_path / "broken.toml", "https://central.example.cn/", "not a certificate\n")
    with pytest.raises(ConfigError) as refused:
        load_config(broken)
    assert "tls_certificates" in str(refused.value)
    assert load_config(central.write_config(tmp_path / "dev.toml", url="http://127.0.0.1:8765/"))


def test_the_service_refuses_to_serve_plain_http_beyond_loopback(tmp_path, central_key_file):
    done = CliRunner().invoke(
        central_main,
        ["serve", "--db", str(tmp_path / "c.sqlite"), "--signing-key", str(central_key_file), "--host", "0.0.0.0"],
    )
    assert done.exit_code == 2 and "plain HTTP only on loopback" in done.output
