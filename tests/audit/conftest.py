"""A small audit chain with samples, and tampering done the way an attacker would have to."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Connection, Engine

from attendance.store import audit_log
from attendance.store.db import transaction
from attendance.store.models import Region, Site
from attendance.store.samples import record_samples

START = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def sample_rows(site_id: int, slots: range, face_count: int = 3) -> list[dict]:
    return [
        {
            "site_id": site_id,
            "slot": START + timedelta(seconds=30 * n),
            "captured_at": START + timedelta(seconds=30 * n + 2),
            "status": "ok",
            "face_count": face_count,
            "boxes": [[10, 60, 60, 10]] * face_count,
            "frame_hash": "ab" * 32,
            "worker_id": "test:1",
        }
        for n in slots
    ]


FACE = {"decision": "unknown", "distance": 0.71, "box": [10, 60, 60, 10], "stranger_label": 1}


@pytest.fixture
def site_id(engine: Engine) -> int:
    with transaction(engine) as session:
        region = Region(level="province", name="Hà Nội", path="Hà Nội")
        site = Site(code="HN-001", name="Hội trường", province=region, region=region,
                    timezone="Asia/Ho_Chi_Minh")  # fmt: skip
        session.add(site)
        session.flush()
        return site.id


@pytest.fixture
def chain(engine: Engine, site_id: int) -> Engine:
    """Events 1–6: a headcount, samples 1–3 (2 with a face), a correction, a login, samples 4–5,
    a purge."""
    _event(engine, "headcount", {"site": "HN-001", "value": 40})
    rows = sample_rows(site_id, range(3))
    record_samples(engine, rows, {(row["site_id"], row["slot"]): [FACE] for row in rows[1:]})
    _event(engine, "correction", {"site": "HN-001", "value": 38, "reason": "đếm lại"})
    _event(engine, "user.login", {"user": "auditor"})
    record_samples(engine, sample_rows(site_id, range(3, 5)))
    _event(engine, "evidence.purge", {"files": 0})
    return engine


def _event(engine: Engine, action: str, payload: dict) -> None:
    with transaction(engine) as session:
        audit_log.record(session, action, payload, actor="test")


@contextmanager
def as_dba(engine: Engine) -> Iterator[Connection]:
    """Tamper with audit events as only someone with the database owner's rights can: the
    append-only triggers of migration 0004 must be disabled (PostgreSQL) or dropped (SQLite)
    first; the application never does either."""
    postgresql = engine.dialect.name == "postgresql"
    with engine.begin() as connection:
        if postgresql:
            connection.exec_driver_sql("ALTER TABLE audit_events DISABLE TRIGGER USER")
        else:
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_update")
            connection.exec_driver_sql("DROP TRIGGER audit_events_no_delete")
        yield connection
        if postgresql:
            connection.exec_driver_sql("ALTER TABLE audit_events ENABLE TRIGGER USER")


@pytest.fixture
def verify(cli, db: str):
    """Run `attendance audit verify --json [ARGS]` on the test database: (exit code, report)."""

    def run(*args: str) -> tuple[int, dict]:
        result = cli("audit", "verify", "--json", "--db", db, *args)
        assert result.code in (0, 3), result.err
        return result.code, json.loads(result.out)

    return run
