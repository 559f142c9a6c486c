"""`attendance audit verify` over the event chain, the triggers that make it append-only, and
appends that race each other; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from attendance.store import audit_log
from attendance.store.db import transaction
from attendance.store.models import AuditEvent
from tests.audit.conftest import as_dba


def test_an_intact_chain_verifies(cli, db, chain):
    result = cli("audit", "verify", "--db", db)
    assert result.code == 0, result.err
    with transaction(chain) as session:
        head = session.scalar(select(AuditEvent.hash).where(AuditEvent.id == 6))
    assert result.out == f"audit chain intact: 6 events, 5 samples; head event 6 {head}\n"


def test_an_edited_payload_names_the_event(chain, verify):
    with as_dba(chain) as connection:
        connection.execute(
            AuditEvent.__table__.update()
            .where(AuditEvent.id == 3)
            .values(payload={"site": "HN-001", "value": 80, "reason": "đếm lại"})
        )
    code, report = verify()
    assert code == 3
    assert report["problems"] == [{"event": 3, "problem": "hash does not match its content"}]


def test_a_replaced_event_breaks_the_link_of_the_next(chain, verify):
    """An attacker who recomputes the edited event's own hash is caught by the next one."""
    with chain.connect() as connection:
        event = next(event for event in audit_log.events(connection) if event.id == 3)
    forged = event._replace(payload={**event.payload, "value": 80})
    with as_dba(chain) as connection:
        connection.execute(
            AuditEvent.__table__.update()
            .where(AuditEvent.id == 3)
            .values(payload=forged.payload, hash=audit_log.event_hash(forged.prev_hash, forged))
        )
    code, report = verify()
    assert (code, report["problems"]) == (
        3,
        [{"event": 4, "problem": "prev_hash is not the hash of event 3"}],
    )


def test_a_deleted_event_names_the_missing_id(chain, verify, cli, db):
    with as_dba(chain) as connection:
        connection.execute(AuditEvent.__table__.delete().where(AuditEvent.id == 4))
    code, report = verify()
    assert code == 3
    assert report["problems"] == [{"event": 4, "problem": "missing (deleted)"}]
    text = cli("audit", "verify", "--db", db)
    assert "first problem: event 4: missing (deleted)\n" in text.out


def test_a_deleted_end_is_found_only_against_an_earlier_head(chain, verify):
    """The documented limit: without a head printed earlier, a shorter chain looks whole."""
    _, before = verify()
    head = before["head"]["hash"]
    assert verify("--head", head)[0] == 0
    with as_dba(chain) as connection:
        connection.execute(AuditEvent.__table__.delete().where(AuditEvent.id == 6))
    assert verify()[0] == 0
    code, report = verify("--head", head)
    assert code == 3
    (problem,) = report["problems"]
    assert problem["head"] == head
    assert problem["problem"].startswith("not in the chain, which now ends at event 5")


def test_the_database_refuses_to_change_or_delete_events(chain):
    table = AuditEvent.__table__
    for change in (table.update().values(actor="someone else"), table.delete()):
        with pytest.raises(IntegrityError, match="audit_events is append-only"), chain.begin() as c:
            c.execute(change.where(table.c.id == 2))
    if chain.dialect.name == "postgresql":
        with pytest.raises(IntegrityError, match="append-only"), chain.begin() as connection:
            connection.exec_driver_sql("TRUNCATE audit_events")
    with transaction(chain) as session:
        assert session.get(AuditEvent, 2).actor == "worker:test:1"


def test_a_rolled_back_append_leaves_no_gap(engine, verify):
    with pytest.raises(RuntimeError), transaction(engine) as session:
        audit_log.record(session, "test", {"n": 1})
        raise RuntimeError("the change this event was about failed")
    with transaction(engine) as session:
        assert audit_log.record(session, "test", {"n": 2}).id == 1
    assert verify()[0] == 0


def test_concurrent_appenders_make_one_linear_chain(engine, verify):
    """Two writers, each with its own connection, append at the same moments: neither may fork
    the chain (or trip over the other's id); every event follows exactly one other."""
    together = threading.Barrier(2, timeout=10)  # a writer that fails breaks it for the other

    def append(writer: str) -> None:
        for n in range(15):
            together.wait()
            with transaction(engine) as session:
                audit_log.record(session, "test.append", {"writer": writer, "n": n})

    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(append, name) for name in ("a", "b")]:
            done.result()
    code, report = verify()
    assert (code, report["events"]) == (0, 30)
    with transaction(engine) as session:
        links = session.execute(select(AuditEvent.prev_hash, AuditEvent.hash)).all()
    assert len({prev for prev, _ in links}) == 30


def test_a_malformed_head_is_bad_input(cli, tmp_path):
    result = cli("audit", "verify", "--head", "abc", "--db", f"sqlite:///{tmp_path / 'a.db'}")
    assert result.code == 2
    assert "--head: expected the 64 hex digits" in result.err
