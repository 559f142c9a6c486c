"""The audit log: every change of record appends one event, chained by hash to the one before.

hash = sha256(prev_hash + canonical JSON of the event), so editing or deleting any stored event
breaks every hash after it. One global chain, in id order.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from attendance.store.models import AuditEvent
from attendance.store.types import utcnow


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(prev_hash: str | None, event: AuditEvent) -> str:
    body = {
        "at": event.at.isoformat(),
        "actor": event.actor,
        "action": event.action,
        "entity": event.entity,
        "entity_id": event.entity_id,
        "payload": event.payload,
    }
    return hashlib.sha256(((prev_hash or "") + canonical_json(body)).encode()).hexdigest()


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
    """Append an event inside the caller's transaction, so it commits or rolls back with it."""
    prev_hash = session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    event = AuditEvent(
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


def local_actor() -> str:
    """Who ran a CLI command: the operating-system account."""
    return f"cli:{getpass.getuser()}"
