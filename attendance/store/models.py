"""The data model: every table of DESIGN.md, identical on SQLite and PostgreSQL.

Timestamps are aware UTC (`UTCDateTime`); per-site local time is a display concern. Rows that
evidence depends on are never hard-deleted by the application: roster entries are deactivated,
sites disabled, audit events only appended.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from attendance.store.types import UTCDateTime, utcnow

# Deterministic constraint names, so Alembic can alter them on both databases.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# 64-bit ids where tables grow with every sample; SQLite only autoincrements INTEGER.
BigId = BigInteger().with_variant(Integer, "sqlite")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class RegionLevel(StrEnum):
    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"


class SampleStatus(StrEnum):
    OK = "ok"  # detection ran on this frame
    GATED = "gated"  # frame unchanged; count reused from `reused_sample_id`
    NO_FRAME = "no_frame"
    TIMEOUT = "timeout"
    DECODE_ERROR = "decode_error"
    FROZEN = "frozen"
    DARK = "dark"
    ERROR = "error"
    INTERRUPTED = "interrupted"
    DEFERRED = "deferred"  # frame fine, but no count yet: detection was behind (a site's first)


# The statuses whose face count is a count: the one definition every figure and query uses.
COUNTED = frozenset({SampleStatus.OK, SampleStatus.GATED})


class Role(StrEnum):
    ADMIN = "admin"
    ORGANIZER = "organizer"
    OPERATOR = "operator"
    AUDITOR = "auditor"


class Conference(Base):
    """A campaign, e.g. studying one resolution, held as one or more sessions."""

    __tablename__ = "conferences"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sessions: Mapped[list[ConferenceSession]] = relationship(back_populates="conference")


class ConferenceSession(Base):
    """A time window of a conference during which every enabled site is sampled."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("conference_id", "code"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    conference_id: Mapped[int] = mapped_column(ForeignKey("conferences.id"), index=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    cadence_s: Mapped[int | None] = mapped_column(doc="Overrides the configured cadence.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    conference: Mapped[Conference] = relationship(back_populates="sessions")


class Region(Base):
    """Province → district → commune; `path` ("Hà Nội › Quận Ba Đình") is unique."""

    __tablename__ = "regions"
    id: Mapped[int] = mapped_column(primary_key=True)
    level: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(700), unique=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)


class Site(Base):
    """A hookup point: one room with one camera feed and one roster."""

    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    region_id: Mapped[int] = mapped_column(
        ForeignKey("regions.id"), index=True, doc="The most specific region (commune if given)."
    )
    capacity: Mapped[int | None]
    timezone: Mapped[str] = mapped_column(String(64))
    stream_url: Mapped[str | None] = mapped_column(Text)
    stream_options: Mapped[dict[str, Any] | None] = mapped_column(
        doc="Transport details: auth header, MCU tile, transport=tcp…"
    )
    roi: Mapped[dict[str, Any] | None] = mapped_column(
        doc='{"include": [polygons], "exclude": [polygons]} in frame-relative coordinates.'
    )
    perspective: Mapped[dict[str, Any] | None] = mapped_column(
        doc='The camera\'s learned face size per row: {"model": {…}, "learned_at": epoch s}; '
        "kept so a restarted worker need not relearn it.",
    )
    calibration_factor: Mapped[float] = mapped_column(Float, default=1.0)
    cadence_s: Mapped[int | None]
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    province: Mapped[Region] = relationship(foreign_keys=[province_id])
    region: Mapped[Region] = relationship(foreign_keys=[region_id])


class RosterEntry(Base):
    """A registered person who is expected at a site (unless exempt)."""

    __tablename__ = "roster_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    person_code: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    unit: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(200))
    exempt: Mapped[bool] = mapped_column(Boolean, default=False)
    exempt_reason: Mapped[str | None] = mapped_column(String(500))
    consent_biometric: Mapped[bool] = mapped_column(Boolean, default=False)
    photo_ref: Mapped[str | None] = mapped_column(String(500))
    active: Mapped[bool] = mapped_column(
        Boolean, default=True, doc="False once a re-import drops the person; history keeps them."
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    site: Mapped[Site] = relationship()


class FaceEncoding(Base):
    """A face encoding enrolled from a roster photo; only for entries with consent."""

    __tablename__ = "face_encodings"
    id: Mapped[int] = mapped_column(primary_key=True)
    roster_entry_id: Mapped[int] = mapped_column(
        ForeignKey("roster_entries.id", ondelete="CASCADE"), index=True
    )
    encoding: Mapped[bytes] = mapped_column(LargeBinary, doc="128 float64, little-endian.")
    photo_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Sample(Base):
    """What one cadence slot saw at one site, including failures (a status, never a gap)."""

    __tablename__ = "samples"
    __table_args__ = (
        UniqueConstraint("site_id", "slot"),
        Index("ix_samples_session_site", "session_id", "site_id"),
        Index("ix_samples_evidence_sha256", "evidence_sha256"),  # serving and purging images
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    slot: Mapped[datetime] = mapped_column(doc="Start of the cadence slot; unique per site.")
    captured_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    face_count: Mapped[int | None]
    remembered: Mapped[int | None] = mapped_column(
        doc="Of face_count, seats whose face recent counts found and this one missed while the "
        "scene there stayed unchanged (a bowed head); NULL for samples stored before."
    )
    boxes: Mapped[list[Any] | None] = mapped_column(doc="[[top, right, bottom, left], …] pixels.")
    detector: Mapped[dict[str, Any] | None] = mapped_column(doc="Model, upsampling, tiles, ROI.")
    timings: Mapped[dict[str, Any] | None] = mapped_column(doc="Milliseconds per step.")
    frame_hash: Mapped[str | None] = mapped_column(String(64))
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    reused_sample_id: Mapped[int | None] = mapped_column(
        BigId, ForeignKey("samples.id"), doc="For gated samples: whose count was reused."
    )
    worker_id: Mapped[str | None] = mapped_column(String(128))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Identification(Base):
    """One face of a sample matched (or not) against the site's enrolled roster."""

    __tablename__ = "identifications"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    sample_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("samples.id", ondelete="CASCADE"), index=True
    )
    roster_entry_id: Mapped[int | None] = mapped_column(ForeignKey("roster_entries.id"), index=True)
    decision: Mapped[str] = mapped_column(String(16), doc="match | ambiguous | unknown")
    distance: Mapped[float | None] = mapped_column(Float)
    box: Mapped[list[Any] | None]
    stranger_label: Mapped[int | None] = mapped_column(doc="Cluster of an unregistered face.")


class Estimate(Base):
    """The attendance figure of a site for a session, recomputed from its samples."""

    __tablename__ = "estimates"
    __table_args__ = (UniqueConstraint("site_id", "session_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"), index=True)
    raw: Mapped[float | None] = mapped_column(Float)
    calibrated: Mapped[float | None] = mapped_column(Float)
    peak: Mapped[int | None]
    median: Mapped[float | None] = mapped_column(Float)
    mean: Mapped[float | None] = mapped_column(Float)
    coverage: Mapped[float | None] = mapped_column(Float)
    quality: Mapped[dict[str, Any] | None] = mapped_column(doc="Flag and its reasons.")
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Headcount(Base):
    """A manual count by a site operator; it calibrates the site's estimates."""

    __tablename__ = "headcounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id"))
    counted_at: Mapped[datetime]
    value: Mapped[int]
    counted_by: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Correction(Base):
    """An organizer's override of a site's figure; the original estimate is kept beside it."""

    __tablename__ = "corrections"
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("sessions.id"))
    original_value: Mapped[float | None] = mapped_column(Float)
    value: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    corrected_by: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Append-only, hash-chained record of every change: hash = sha256(prev_hash + event JSON)."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str | None] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]]
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    full_name: Mapped[str | None] = mapped_column(String(200))
    password_hash: Mapped[str | None] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(16))
    scope: Mapped[dict[str, Any] | None] = mapped_column(
        doc='For operators: {"sites": [codes]} or {"regions": [ids]}.'
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    """A browser's login: the cookie holds the token, the database only its SHA-256."""

    __tablename__ = "login_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64), doc="Sent back with every write.")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class ApiToken(Base):
    """A token for scripts; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
