"""The audit log: every change of record appends one event, chained by hash to the one before.

One global chain, in id order: hash = sha256(prev_hash + canonical JSON of the event, its id
included). Editing a stored event breaks its own hash; deleting one leaves a gap in the ids and
breaks the link of the next. Ids are given here, the last id + 1 under the chain lock, so they
have no gaps of their own (a PostgreSQL sequence would skip the ids of rolled-back appends).
The database refuses UPDATE and DELETE of events (triggers of migration 0004).

`attendance.audit.verify` walks the chain and checks the samples.

Samples are proven in batches: one `samples.store` event per stored batch lists each new sample
as [id, face_count, sha256 of its content] (`sample_digest`), so `verify` finds a sample edited,
deleted or inserted behind the application's back.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Row
from sqlalchemy.orm import Session

from attendance.store import audit_queries
from attendance.store.audit_queries import LATER_SAMPLE_FIELDS, SAMPLE_FIELDS, StoredEvent
from attendance.store.models import AuditEvent
from attendance.store.types import utcnow

SAMPLES_STORED = "samples.store"


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(prev_hash: str | None, event: AuditEvent | StoredEvent) -> str:
    body = {
        "id": event.id,
        "at": event.at.astimezone(UTC).isoformat(),  # as the database gives it back
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "payload": event.payload,
    }
    return hashlib.sha256(((prev_hash or "") + canonical_json(body)).encode()).hexdigest()


def sample_digest(sample: Mapping[str, Any], identifications: Iterable[Sequence[Any]]) -> str:
    """SHA-256 of what a sample says (SAMPLE_FIELDS, and LATER_SAMPLE_FIELDS that are set) and
    of its identifications, in id order.

    The writer and `verify` both hash the values the database returns (SAMPLE_READ), so Python
    types and time zones of the rows a worker built cannot make them disagree."""
    body = {name: sample[name] for name in SAMPLE_FIELDS}
    body |= {name: sample[name] for name in LATER_SAMPLE_FIELDS if sample.get(name) is not None}
    body["identifications"] = sorted(map(list, identifications))
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()


def record(
    session: Session,
    action: str,
    payload: dict[str, Any],
    *,
    actor: str | None = None,
    entity: str | None = None,
    entity_id: str | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append an event inside the caller's transaction, so it commits or rolls back with it.

    Other appenders wait from here until that transaction ends (`lock_chain`), so two writers
    cannot both extend the same last event: keep the transaction short after this call, and
    never append from a second transaction while this one is open (it would wait for itself)."""
    audit_queries.lock_chain(session)
    last_id, prev_hash = audit_queries.chain_end(session)
    event = AuditEvent(
        id=last_id + 1,
        at=at or utcnow(),
        actor=actor or local_actor(),
        action=action,
        entity=entity,
        entity_id=entity_id,
        payload=json.loads(canonical_json(payload)),
        prev_hash=prev_hash,
    )
    event.hash = event_hash(prev_hash, event)
    session.add(event)
    session.flush()
    return event


def record_sample_batch(
    session: Session,
    stored: Sequence[Row],
    identifications: Mapping[int, Sequence[tuple]],
    actor: str | None = None,
) -> AuditEvent:
    """The `samples.store` event of newly stored samples: rows of (id, *SAMPLE_READ) as the
    INSERT returned them; `identifications` maps a sample id to its IDENTIFICATION_READ rows."""
    listed = [
        [row.id, row.face_count, sample_digest(row._mapping, identifications.get(row.id, ()))]
        for row in sorted(stored, key=lambda row: row.id)
    ]
    return record(session, SAMPLES_STORED, {"samples": listed}, actor=actor)


def local_actor() -> str:
    """Who ran a CLI command: the operating-system account."""
    return f"cli:{getpass.getuser()}"
