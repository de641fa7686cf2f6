"""Configuration schema. Unknown keys are errors: a typo must not silently fall back to a default."""

from __future__ import annotations

import base64
import binascii
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, model_validator

from county_common.regions import lookup_region

PRODUCT_MIN_LINE = 5_000
PRODUCT_MAX_LINE = 100_000
PRODUCT_TERMS = (3, 6, 9, 12)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _key32(value: str) -> str:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("must be standard base64") from exc
    if len(raw) != 32:
        raise ValueError(f"must decode to a 32-byte key, got {len(raw)} bytes")
    return value


PublicKey = Annotated[str, AfterValidator(_key32)]
SecretKey = Annotated[str, AfterValidator(_key32)]


def _county_code(value: str) -> str:
    region = lookup_region(value)
    if region is None:
        raise ValueError(f"{value} is not a GB/T 2260 division code")
    if not region.is_county_level:
        raise ValueError(f"{value} ({region.full_name}) is not a county-level division")
    return value


class Terminal(_Strict):
    id: str = Field(pattern=r"^T-[0-9]{6}-[0-9]{4}$", description="T-<county code>-<serial>")
    county: Annotated[str, Field(pattern=r"^[0-9]{6}$"), AfterValidator(_county_code)]
    languages: list[Literal["zh", "en"]] = Field(default=["zh", "en"], min_length=1)
    default_language: Literal["zh", "en"] = "zh"
    idle_timeout_s: int = Field(default=90, ge=15, le=900)

    @model_validator(mode="after")
    def _consistent(self) -> Terminal:
        if self.id[2:8] != self.county:
            raise ValueError(f"terminal id {self.id} must carry its county code {self.county}")
        if self.default_language not in self.languages:
            raise ValueError(f"default_language {self.default_language} is not in languages")
        return self


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "[::1]", "localhost")


def _certificates(value: str) -> str:
    """PEM certificates (the central service's, or the CA that issued it), each one parsed."""
    if not value:
        return value
    from cryptography import x509

    try:
        found = x509.load_pem_x509_certificates(value.encode())
    except ValueError as error:
        raise ValueError(f"not PEM X.509 certificates: {error}") from None
    if not found:
        raise ValueError("no certificate in it")
    return value


class Central(_Strict):
    url: HttpUrl = Field(description="https:// with tls_certificates pinned; http:// only on loopback (development)")
    hpke_public_key: PublicKey = Field(description="X25519 key that applications are sealed to")
    signing_public_keys: list[PublicKey] = Field(
        min_length=1, description="Ed25519 keys that sign receipts and bundles (more than one during rotation)"
    )
    tls_certificates: Annotated[str, AfterValidator(_certificates)] = Field(
        default="",
        description="PEM: the only certificates (the service's own, or its CA) a terminal trusts for https",
    )

    @model_validator(mode="after")
    def _transport(self) -> Central:
        if self.url.scheme == "https" and not self.tls_certificates:
            raise ValueError("an https url needs tls_certificates: the terminal trusts only the pinned ones")
        if self.url.scheme == "http" and self.url.host not in LOOPBACK_HOSTS:
            raise ValueError(f"plain http only to this machine (loopback), not {self.url.host}: use https")
        return self


def _camera_device(value: int | str) -> int | str:
    if isinstance(value, str) and not value.startswith("/dev/"):
        raise ValueError("a camera is an OpenCV index (0, 1, ...) or a device path under /dev/")
    return value


class Camera(_Strict):
    """The terminal's own camera (local hardware: a central config update never sets it)."""

    device: Annotated[int | str, AfterValidator(_camera_device)] = Field(default=0)
    width: int = Field(default=1280, ge=320, le=3840)
    height: int = Field(default=720, ge=240, le=2160)
    fps: int = Field(default=15, ge=5, le=60, description="the frame rate asked of the camera")
    frame_timeout_s: float = Field(default=30.0, ge=2.0, le=300.0, description="no frame this long: unavailable")


class Usb(_Strict):
    """Where the agent's USB stick shows up (local: how this machine mounts removable disks)."""

    mounts: list[str] = Field(
        default=["/media/*/*", "/run/media/*/*", "/mnt/usb*"],
        min_length=1,
        description="globs of the directories a mounted stick appears as",
    )


class Display(_Strict):
    """The kiosk's screen (local hardware and the service point's choice: a central config update
    never sets it)."""

    fullscreen: bool = Field(default=True, description="full screen, no window frame, no cursor")
    exit_keys: bool = Field(default=False, description="Escape closes the kiosk (a development machine)")
    language: Literal["zh", "en"] = "zh"
    large_text: bool = Field(default=False, description="start in large-text mode")
    speech: bool = Field(default=True, description="speak every instruction and each screen's main line")
    voice: str = Field(default="cmn", pattern=r"^[a-z-]{2,20}$", description="espeak-ng voice")
    countdown_s: int = Field(default=10, ge=5, le=60, description="the warning shown before an idle session is wiped")
    font: str = Field(default="", description="a CJK font file; empty: the first one installed that is known")


class Identity(_Strict):
    min_age: int = Field(default=18, ge=18, le=70)
    max_age: int = Field(default=60, ge=18, le=80)
    max_capture_attempts: int = Field(default=3, ge=1, le=10)
    max_liveness_attempts: int = Field(default=3, ge=1, le=10)

    @model_validator(mode="after")
    def _ordered(self) -> Identity:
        if self.min_age > self.max_age:
            raise ValueError(f"min_age {self.min_age} is above max_age {self.max_age}")
        return self


class Liveness(_Strict):
    """The liveness check: how many challenges, how long each may take, and the two scores'
    thresholds (see terminal_app.liveness.anti_spoof and face_match for how they were chosen)."""

    challenges: int = Field(default=2, ge=2, le=3)
    challenge_seconds: float = Field(default=6.0, ge=2.0, le=30.0)
    spoof_max: float = Field(default=0.5, gt=0.0, lt=1.0, description="spoof score above this fails the check")
    face_match_min: float = Field(
        default=0.55, ge=0.4, lt=1.0, description="similarity to the ID photo (1 - descriptor distance) needed"
    )


class Purpose(_Strict):
    code: str = Field(pattern=r"^[a-z_]{2,32}$")
    zh: str = Field(min_length=1)
    en: str = Field(min_length=1)
    green: bool = False


class Band(_Strict):
    """A credit score band: applicants scoring at least min_score get up to max_limit."""

    name: str = Field(pattern=r"^[A-Z]$")
    min_score: int = Field(ge=0, le=1000)
    max_limit: int = Field(ge=PRODUCT_MIN_LINE, le=PRODUCT_MAX_LINE)
    good_customer: bool = False


class Catalogue(_Strict):
    currency: Literal["CNY"] = "CNY"
    min_line: int = Field(default=PRODUCT_MIN_LINE, ge=PRODUCT_MIN_LINE, le=PRODUCT_MAX_LINE)
    max_line: int = Field(default=PRODUCT_MAX_LINE, ge=PRODUCT_MIN_LINE, le=PRODUCT_MAX_LINE)
    amount_step: int = Field(default=100, ge=1, le=10_000)
    terms: list[Literal[3, 6, 9, 12]] = Field(default=list(PRODUCT_TERMS), min_length=1)
    base_annual_rate: Decimal = Field(gt=0, le=Decimal("0.24"), decimal_places=4)
    good_customer_discount: Decimal = Field(default=Decimal("0.15"), ge=0, lt=1, decimal_places=4)
    green_limit_boost: Decimal = Field(default=Decimal("0.50"), ge=0, le=1, decimal_places=4)
    green_rate_discount: Decimal = Field(default=Decimal("0.05"), ge=0, lt=1, decimal_places=4)
    purposes: list[Purpose] = Field(min_length=1)
    bands: list[Band] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Catalogue:
        if self.min_line >= self.max_line:
            raise ValueError(f"min_line {self.min_line} must be below max_line {self.max_line}")
        if len(set(self.terms)) != len(self.terms):
            raise ValueError("terms are listed twice")
        codes = [p.code for p in self.purposes]
        if len(set(codes)) != len(codes):
            raise ValueError("purpose codes must be unique")
        scores = [b.min_score for b in self.bands]
        if scores != sorted(scores, reverse=True) or len(set(scores)) != len(scores):
            raise ValueError("bands must be listed best first with strictly falling min_score")
        limits = [b.max_limit for b in self.bands]
        if limits != sorted(limits, reverse=True):
            raise ValueError("a better band cannot have a lower max_limit")
        for band in self.bands:
            if band.max_limit < self.min_line:
                raise ValueError(f"band {band.name} max_limit {band.max_limit} is below min_line")
        return self

    def purpose(self, code: str) -> Purpose | None:
        return next((p for p in self.purposes if p.code == code), None)


class Risk(_Strict):
    """Decision thresholds. Fraud score: 0 (clean) to 1000 (certain fraud).
    Credit score: 0 (worst) to 1000 (best)."""

    fraud_refer: int = Field(default=400, ge=0, le=1000)
    fraud_decline: int = Field(default=700, ge=0, le=1000)
    credit_refer: int = Field(default=520, ge=0, le=1000)
    credit_approve: int = Field(default=600, ge=0, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> Risk:
        if self.fraud_refer >= self.fraud_decline:
            raise ValueError("fraud_refer must be below fraud_decline")
        if self.credit_refer >= self.credit_approve:
            raise ValueError("credit_refer must be below credit_approve")
        return self


class StepTimeouts(_Strict):
    """Seconds each step of the application may take before the draft is wiped."""

    consent: int = Field(default=180, ge=10, le=3600)
    id_capture: int = Field(default=180, ge=10, le=3600)
    liveness: int = Field(default=120, ge=10, le=3600)
    form: int = Field(default=600, ge=10, le=3600)
    scoring: int = Field(default=30, ge=5, le=600)
    offer: int = Field(default=300, ge=10, le=3600)
    confirmation: int = Field(default=300, ge=10, le=3600)
    receipt: int = Field(default=60, ge=5, le=3600)


class Agents(_Strict):
    lockout_after: int = Field(default=5, ge=1, le=20)
    lockout_minutes: int = Field(default=15, ge=1, le=24 * 60)
    session_minutes: int = Field(default=30, ge=1, le=12 * 60)


class Guardrails(_Strict):
    """When the kiosk stops taking new applications rather than drift (queued ones still sync).
    Central policy: signed, and set by config updates."""

    max_days_unsynced: int = Field(default=7, ge=1, le=90, description="an application queued longer: stop")
    blocklist_max_age_days: int = Field(default=14, ge=1, le=365, description="the blocklist in force older: stop")
    model_max_age_days: int = Field(default=180, ge=7, le=730, description="the model in force older: stop")
    max_clock_skew_s: int = Field(default=600, ge=30, le=86_400, description="off the central clock by more: stop")
    min_free_disk_mb: int = Field(default=200, ge=20, le=100_000, description="less free on the data disk: stop")


class Retention(_Strict):
    """How long the terminal keeps what it no longer needs (central policy, signed)."""

    receipts_days: int = Field(default=90, ge=7, le=3650, description="delivery receipts older than this are purged")


class KioskConfig(_Strict):
    schema_version: Literal[1] = 1
    terminal: Terminal
    central: Central
    camera: Camera = Camera()
    display: Display = Display()
    usb: Usb = Usb()
    identity: Identity = Identity()
    liveness: Liveness = Liveness()
    catalogue: Catalogue
    risk: Risk = Risk()
    timeouts: StepTimeouts = StepTimeouts()
    agents: Agents = Agents()
    guardrails: Guardrails = Guardrails()
    retention: Retention = Retention()
