"""The SQL of the audit log: the chain lock, the chain's end, and the streams `verify` reads."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import JSON, Column, Connection, Engine, Select, Text, cast, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from attendance.store.models import AuditEvent, Identification, Sample

# The key of the PostgreSQL advisory lock that serializes appends: a fixed 64-bit number that
# nothing else uses.
CHAIN_LOCK = int.from_bytes(b"audchain", "big")
STREAM_BATCH = 5_000

# What a sample's audit digest covers: the fields its count, its place and its evidence hang on.
# JSON columns enter as their stored text, read through the same expressions (SAMPLE_READ,
# IDENTIFICATION_READ) by the INSERT … RETURNING that stores a sample and by `verify`, so
# neither has to parse them. (Turning a column into jsonb, which rewrites the text, would need
# the samples' digests recomputed.)
SAMPLE_FIELDS = (
    "site_id",
    "session_id",
    "slot",
    "captured_at",
    "status",
    "face_count",
    "boxes",
    "frame_hash",
    "evidence_sha256",
)
# Fields added since: a sample's digest covers them only when set, so samples stored before a
# field existed (NULL there) hash exactly as they did.
LATER_SAMPLE_FIELDS = ("remembered",)
READ_SAMPLE_FIELDS = SAMPLE_FIELDS + LATER_SAMPLE_FIELDS
# An identification as it enters the digest: a tuple in this order, identification id first.
IDENTIFICATION_FIELDS = ("id", "roster_entry_id", "decision", "distance", "box", "stranger_label")


def _as_read(column: Column) -> ColumnElement:
    return cast(column, Text).label(column.key) if isinstance(column.type, JSON) else column


SAMPLE_READ = tuple(_as_read(Sample.__table__.c[name]) for name in READ_SAMPLE_FIELDS)
IDENTIFICATION_READ = tuple(
    _as_read(Identification.__table__.c[name]) for name in IDENTIFICATION_FIELDS
)


class StoredEvent(NamedTuple):
    id: int
    at: datetime
    actor: str
    action: str
    entity: str | None
    entity_id: str | None
    payload: Any  # a dict, or the stored text when that is not JSON
    prev_hash: str | None
    hash: str | None


EVENT_READ = tuple(_as_read(AuditEvent.__table__.c[name]) for name in StoredEvent._fields)


def lock_chain(session: Session) -> None:
    """Make this transaction the only appender until it ends, before it reads the chain's end.

    PostgreSQL: a transaction-scoped advisory lock, released by commit or rollback.
    SQLite allows one writer at a time, but pysqlite (store/db.py keeps its default, deferred
    transactions) sends BEGIN only before the first INSERT, UPDATE or DELETE. A session that has
    only read is not in a transaction yet, and another process could append between our read
    of the last hash and our insert. So we BEGIN IMMEDIATE, which takes the write lock (waiting
    up to the 30-s connect timeout); a session that has written holds it already, and in WAL
    mode the holder of the write lock reads the newest data.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.execute(select(func.pg_advisory_xact_lock(CHAIN_LOCK)))
    elif not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def chain_end(session: Session) -> tuple[int, str | None]:
    """Id and hash of the last event; (0, None) while the chain is empty."""
    last = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return (last.id, last.hash) if last else (0, None)


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """One consistent view of the database for as long as verifying takes: events and samples
    stored meanwhile stay out of it, else a sample stored after its event was read would look
    unlisted. PostgreSQL: REPEATABLE READ; SQLite (WAL): one read transaction."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        else:
            connection.exec_driver_sql("BEGIN")
        yield connection
        connection.rollback()


def events(connection: Connection) -> Iterator[StoredEvent]:
    """Every event in id order, streamed."""
    query = select(*EVENT_READ).order_by(AuditEvent.id)
    for row in _stream(connection, query):
        yield StoredEvent(*row)._replace(payload=_payload(row.payload))


def samples(connection: Connection) -> Iterator[tuple[int, dict[str, Any], list[tuple]]]:
    """Every sample in id order, streamed: (id, its READ_SAMPLE_FIELDS, its identifications)."""
    faces = [column.label(f"face_{column.key}") for column in IDENTIFICATION_READ]
    query = (
        select(Sample.id, *SAMPLE_READ, *faces)
        .outerjoin(Identification, Identification.sample_id == Sample.id)
        .order_by(Sample.id, Identification.id)
    )
    split = 1 + len(SAMPLE_READ)
    for sample_id, group in itertools.groupby(_stream(connection, query), key=lambda row: row[0]):
        rows = list(group)
        sample = dict(zip(READ_SAMPLE_FIELDS, rows[0][1:split], strict=True))
        identified = [tuple(row[split:]) for row in rows if row[split] is not None]
        yield sample_id, sample, identified


def _payload(raw: str | None) -> Any:
    """An event's payload read as text: one edited into invalid JSON comes back as that text, so
    verifying reports a mismatch instead of failing to read the row."""
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _stream(connection: Connection, query: Select) -> Iterator[Any]:
    return iter(connection.execute(query.execution_options(yield_per=STREAM_BATCH)))
