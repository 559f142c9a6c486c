"""Settings: built-in defaults < a TOML file < ATTENDANCE_* environment variables < CLI options.

Everything is validated once, at start-up. An unknown key, a wrong type or a malformed URL stops
the program with a message naming the key and where it came from (file or variable), because a
misspelt key that is silently ignored costs an organizer a conference.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    IPvAnyNetwork,
    SecretStr,
    ValidationError,
    field_serializer,
    field_validator,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from attendance.errors import ConfigError

ENV_PREFIX = "ATTENDANCE_"
CONFIG_ENV = "ATTENDANCE_CONFIG"
DATABASE_BACKENDS = ("sqlite", "postgresql")
REDIS_SCHEMES = ("redis", "rediss", "unix")
MIN_OPS_TOKEN = 16


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class DatabaseSettings(Section):
    url: str = Field(
        "sqlite:///var/attendance.db",
        description="SQLAlchemy URL: sqlite:///path (embedded) or postgresql://… (cluster).",
    )
    echo: bool = Field(False, description="Log every SQL statement (debugging only).")
    pool_size: int = Field(5, ge=1, le=200, description="PostgreSQL connections kept per process.")

    @field_validator("url")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "expected an SQLAlchemy URL such as sqlite:///var/attendance.db "
                "or postgresql+psycopg://user@host/db"
            ) from None
        if url.get_backend_name() not in DATABASE_BACKENDS:
            raise ValueError(f"database must be one of {', '.join(DATABASE_BACKENDS)}")
        if url.get_backend_name() == "postgresql" and not url.database:
            raise ValueError("a PostgreSQL URL must name the database, e.g. …/attendance")
        return value


class RedisSettings(Section):
    url: str | None = Field(
        None, description="Redis URL for cluster mode (redis://host:6379/0); unset when embedded."
    )
    prefix: str = Field(
        "attendance",
        pattern=r"^[A-Za-z0-9_.-]{1,40}$",
        description="Prefix of every key, queue and channel: deployments can share one Redis.",
    )
    lease_s: float = Field(
        10.0, ge=1, le=300, description="Scheduler lease: a standby takes over after this long."
    )
    heartbeat_s: float = Field(2.0, gt=0, le=60, description="How often a worker says it is alive.")
    worker_ttl_s: float = Field(
        10.0, ge=1, le=600, description="A worker silent this long is dead: its sites move."
    )
    max_jobs: int = Field(
        500, ge=1, le=10000, description="Slots one worker process samples at once."
    )

    @field_validator("url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        match = re.fullmatch(r"([a-z]+)://([^/?#\s]*)(\S*)", value)
        if not match or match.group(1) not in REDIS_SCHEMES:
            raise ValueError("expected a URL such as redis://127.0.0.1:6379/0")
        if match.group(1) != "unix" and not match.group(2):
            raise ValueError("a Redis URL needs a host, e.g. redis://127.0.0.1:6379/0")
        return value


class SiteDefaults(Section):
    timezone: str = Field(
        "Asia/Ho_Chi_Minh", description="Time zone of sites whose row leaves it empty (IANA name)."
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        check_timezone(value)
        return value


class SamplingSettings(Section):
    cadence_s: int = Field(30, ge=5, le=3600, description="Seconds between samples of a site.")
    recount_every_s: int = Field(
        300, ge=30, le=3600, description="Full recount at least this often, even if unchanged."
    )
    refresh_every_s: int = Field(
        1800, ge=60, le=86400, description="Relearn a site's perspective (a cold start)."
    )
    grab_timeout_s: float = Field(10.0, gt=0, le=120, description="Give up on a frame after.")
    detect_wait_s: float = Field(
        5.0,
        gt=0,
        le=600,
        description="Longest a frame waits for a detection process; then its sample keeps the "
        "site's last count.",
    )
    jitter: float = Field(
        0.1, ge=0, le=0.5, description="Random share of the cadence added to each due time."
    )
    frozen_after_s: int = Field(
        120, ge=10, le=3600, description="Identical frames this long make the sample 'frozen'."
    )
    stale_after_s: int = Field(
        90, ge=10, le=3600, description="No good sample this long: the site is 'stale'."
    )
    offline_after_s: int = Field(
        300, ge=30, le=86400, description="No good sample this long: the site is 'offline'."
    )
    quality: str = Field(
        "thorough", pattern="^(fast|balanced|thorough)$", description="Counter level."
    )
    model: str = Field(
        "centerface",
        pattern="^(centerface|hog|cnn)$",
        description="Face detector: centerface (CNN, default), hog or cnn (face_recognition's).",
    )
    processes: int = Field(
        0, ge=0, le=256, description="Detection processes; 0 means one per CPU core."
    )
    max_grabs: int = Field(
        256, ge=1, le=10000, description="Frame grabs in flight at once (network concurrency)."
    )
    seat_keep_counts: int = Field(
        3,
        ge=0,
        le=20,
        description="A face found at a seat still counts while missed in up to this many counts "
        "and the gate saw no change there (a reader's bowed head); 0: never.",
    )
    seat_keep_s: float = Field(
        0.0,
        ge=0,
        le=3600,
        description="…or while missed for up to this many seconds, however many counts.",
    )


class IdentifySettings(Section):
    """Matching faces against the enrolled roster photos of consenting people."""

    tolerance: float = Field(
        0.6, gt=0, le=1.2, description="Largest encoding distance that counts as the same person."
    )
    margin: float = Field(
        0.05,
        ge=0,
        le=1,
        description="The best person must be this much closer than any other, else 'ambiguous'.",
    )
    min_face_px: int = Field(
        40,
        ge=20,
        le=200,
        description="Smaller faces (px, mean of width and height) are counted, not identified.",
    )


class EstimateSettings(Section):
    """How a site's attendance figure is drawn from its samples (attendance/results/estimate.py)."""

    core_trim: float = Field(
        0.1, ge=0, le=0.4, description="Share of the session left out at each end (≤ 15 min)."
    )
    smooth_slots: int = Field(3, ge=1, le=15, description="Running median over this many slots.")
    percentile: float = Field(
        90, ge=50, le=100, description="The figure: this percentile of the smoothed counts."
    )
    min_coverage: float = Field(
        0.7, ge=0, le=1, description="Less coverage than this makes the estimate 'fair'."
    )
    poor_coverage: float = Field(
        0.3, ge=0, le=1, description="Less coverage than this makes a flagged estimate 'poor'."
    )
    max_feed_failures: float = Field(
        0.2, ge=0, le=1, description="Share of failed samples above which feed problems count."
    )
    max_spread: float = Field(
        0.5, ge=0, le=1, description="(p90 − p10) / p90 of counts above which samples disagree."
    )


class ImportSettings(Section):
    """Limits checked before a site or roster file is read: a 1.6 KB spreadsheet can place a
    cell where the reader would need hundreds of GB, so it is refused first."""

    max_rows: int = Field(
        2_000_000, ge=1, le=100_000_000, description="Refuse a sheet reaching beyond this row."
    )
    max_columns: int = Field(
        200, ge=1, le=16384, description="Refuse a sheet reaching beyond this column."
    )
    max_cells: int = Field(
        30_000_000,
        ge=1,
        le=1_000_000_000,
        description="Refuse a sheet whose grid (row 1 to its last row × column A to its last "
        "column) holds more cells: the reader keeps all of them, about 32 bytes each.",
    )
    max_unpacked_mb: int = Field(
        500,
        ge=1,
        le=100_000,
        description="Refuse a file larger than this (MB), counting an xlsx's or ods's contents "
        "uncompressed.",
    )


class ReconcileSettings(Section):
    """When a site's attendance is 'under' or 'over' its roster."""

    under: float = Field(0.9, gt=0, le=1, description="Attendance rate below this is 'under'.")
    over: float = Field(1.1, ge=1, le=10, description="Attendance rate above this is 'over'.")
    feed_problem_coverage: float = Field(
        0.5, ge=0, le=1, description="Coverage below this makes the status 'feed_problem'."
    )


class WebSettings(Section):
    """The dashboard and API server (`attendance serve`, `attendance demo`)."""

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8080, ge=1, le=65535, description="Port to listen on.")
    login_hours: float = Field(12, gt=0, le=720, description="A browser login lasts this long.")
    secure_cookies: bool = Field(
        False, description="Send the login cookie over HTTPS only (set behind a TLS proxy)."
    )
    max_body_kb: int = Field(1024, ge=1, le=65536, description="Largest request body accepted.")
    live_interval_s: float = Field(
        0.5, ge=0.1, le=10, description="Live updates are coalesced: one message per client per."
    )
    login_failures_per_user: int = Field(
        5, ge=1, le=1000, description="Failed sign-ins of one user name before it is refused 429."
    )
    login_failures_per_address: int = Field(
        20,
        ge=1,
        le=100000,
        description="Failed sign-ins from one address before it is refused 429.",
    )
    login_window_s: float = Field(
        900, ge=1, le=86400, description="Failures count for this long after the first of them."
    )
    trusted_proxies: list[IPvAnyNetwork] = Field(
        [],
        description="Reverse proxies (addresses or networks) whose X-Forwarded-For names the "
        "client; empty: the peer is the client.",
    )
    ops_token: SecretStr | None = Field(
        None,
        description="When set, /metrics and /readyz answer requests sending 'Authorization: "
        "Bearer <token>'; a secret of at least 16 characters, masked by `config show`.",
    )
    ops_allow: list[IPvAnyNetwork] = Field(
        [],
        description="Addresses or networks that may read /metrics and /readyz. With neither this "
        "nor ops_token set, anyone may.",
    )

    @field_validator("trusted_proxies", "ops_allow", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """An environment variable holds a list as 'a, b'."""
        if not isinstance(value, str):
            return value
        return [part.strip() for part in value.split(",") if part.strip()]

    @field_validator("ops_token")
    @classmethod
    def _long_enough(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and len(token.get_secret_value()) < MIN_OPS_TOKEN:
            raise ValueError(f"the ops token needs at least {MIN_OPS_TOKEN} characters")
        return token

    @field_serializer("ops_token")
    def _masked(self, token: SecretStr | None) -> str | None:
        return None if token is None else "***"

    @field_serializer("trusted_proxies", "ops_allow")
    def _as_text(self, networks: list[IPvAnyNetwork]) -> list[str]:
        return [str(network) for network in networks]


class EvidenceSettings(Section):
    """The image kept behind every counted sample: downscaled, faces blurred, boxes drawn.

    Faces are personal data: the images are purged after `retention_days` (`attendance purge`).
    """

    enabled: bool = Field(True, description="Keep an evidence image of every counted frame.")
    dir: str = Field(
        "var/evidence",
        description="Where the images are kept, named by their SHA-256; relative paths are "
        "relative to the working directory.",
    )
    max_width: int = Field(
        960, ge=160, le=3840, description="Wider frames are downscaled to this width (px)."
    )
    jpeg_quality: int = Field(70, ge=20, le=95, description="JPEG quality of the images.")
    blur_faces: bool = Field(
        True, description="Blur every counted face beyond recognition (off: faces stay visible)."
    )
    retention_days: int = Field(
        90, ge=1, le=3650, description="`attendance purge` deletes images of older samples."
    )


class AuditSettings(Section):
    """Signed exports of the audit record (`attendance export conference`)."""

    signing_key: SecretStr | None = Field(
        None,
        description="HMAC-SHA256 key that signs export bundles, at least 16 characters; a "
        "secret, masked by `config show`. Unset: exports are refused.",
    )

    @field_serializer("signing_key")
    def _masked(self, key: SecretStr | None) -> str | None:
        return None if key is None else "***"


class Settings(Section):
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    estimate: EstimateSettings = Field(default_factory=EstimateSettings)
    reconcile: ReconcileSettings = Field(default_factory=ReconcileSettings)
    imports: ImportSettings = Field(default_factory=ImportSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    sites: SiteDefaults = Field(default_factory=SiteDefaults)
    sampling: SamplingSettings = Field(default_factory=SamplingSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    identify: IdentifySettings = Field(default_factory=IdentifySettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    evidence: EvidenceSettings = Field(default_factory=EvidenceSettings)


def check_timezone(name: str) -> ZoneInfo:
    """Return the zone, or raise ValueError saying what a valid name looks like."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {name!r}; expected an IANA name such as Asia/Ho_Chi_Minh"
        ) from None


def env_names(model: type[BaseModel] = Settings) -> dict[str, tuple[str, str]]:
    """Map each accepted variable (ATTENDANCE_DATABASE_URL, …) to its (section, key)."""
    names = {}
    for section, field in model.model_fields.items():
        for key in field.annotation.model_fields:  # type: ignore[union-attr]
            names[f"{ENV_PREFIX}{section}_{key}".upper()] = (section, key)
    return names


def load_settings(
    config_file: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the settings; `overrides` maps dotted keys ("database.url") to CLI values."""
    env = os.environ if env is None else env
    data: dict[str, dict[str, Any]] = {}
    origin: dict[tuple[str, str], str] = {}
    path = config_file or env.get(CONFIG_ENV)
    if path:
        _merge_file(Path(path), data, origin)
    _merge_env(env, data, origin)
    for dotted, value in (overrides or {}).items():
        section, key = dotted.split(".")
        data.setdefault(section, {})[key] = value
        origin[section, key] = "command-line option"
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, origin, str(path or "built-in defaults"))) from None


def _merge_file(path: Path, data: dict, origin: dict) -> None:
    try:
        parsed = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for section, values in parsed.items():
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: {section}: expected a [{section}] table, got a value")
        data.setdefault(section, {}).update(values)
        origin.update({(section, key): str(path) for key in values})
        origin.setdefault((section, ""), str(path))


def _merge_env(env: Mapping[str, str], data: dict, origin: dict) -> None:
    accepted = env_names()
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        if name not in accepted:
            known = ", ".join(sorted(accepted))
            raise ConfigError(f"environment variable {name}: unknown setting (known: {known})")
        section, key = accepted[name]
        data.setdefault(section, {})[key] = value
        origin[section, key] = f"environment variable {name}"


def _explain(exc: ValidationError, origin: dict, default_source: str) -> str:
    lines = []
    for error in exc.errors():
        loc = [str(part) for part in error["loc"]]
        key = ".".join(loc)
        where = origin.get((loc[0], loc[1]) if len(loc) > 1 else (loc[0], ""), default_source)
        reason = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            reason = "unknown key" + _suggest(loc)
        quiet = error["type"] in ("extra_forbidden", "missing") or _secret(loc)
        got = "" if quiet else f" (got {error['input']!r})"
        lines.append(f"{where}: {key}: {reason}{got}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def _secret(loc: list[str]) -> bool:
    """A secret setting's value is never echoed, not even a wrong one."""
    section = Settings.model_fields.get(loc[0])
    field = section.annotation.model_fields.get(loc[-1]) if section and len(loc) > 1 else None
    return field is not None and SecretStr in (field.annotation, *get_args(field.annotation))


def _suggest(loc: list[str]) -> str:
    if len(loc) == 1:
        known = list(Settings.model_fields)
    else:
        field = Settings.model_fields.get(loc[0])
        known = list(field.annotation.model_fields) if field else []  # type: ignore[union-attr]
    return f"; expected one of: {', '.join(known)}" if known else ""


def mask_url(url: str | None) -> str | None:
    """Hide the password in a URL, for logs and `config show`."""
    return None if url is None else re.sub(r"(://[^:/@\s]*:)[^@/\s]*@", r"\1***@", url)
