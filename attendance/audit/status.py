"""The audit chain as the auditor's pages and printed reports state it: its head and length,
and, when asked, whether every event and sample still hashes as recorded.

A printed head hash and event count let anyone check later that the database still holds the
chain the report was made from. The pages and the PDF ask only here.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from attendance.audit.verify import verify
from attendance.store.audit_log import chain_head

_verifying = threading.Lock()  # held while this process verifies


class VerificationRunning(RuntimeError):
    """A full verification is under way in this process: a second at once would only slow
    both (each reads every sample), so it is refused, not queued."""


@dataclass(frozen=True)
class ChainStatus:
    head: str | None  # hash of the newest event; None for an empty chain
    events: int
    verified: bool | None = None  # None: the hashes were not recomputed
    problem: str | None = None  # what a verification found wrong


def chain_status(db: Session) -> ChainStatus:
    head, events = chain_head(db)
    return ChainStatus(head, events)


def verified_status(engine: Engine) -> ChainStatus:
    """Every event and sample rechecked (`attendance audit verify`). It reads every sample ever
    stored, so pages run it when the reader asks, not on every view, and one at a time
    (VerificationRunning while another runs)."""
    if not _verifying.acquire(blocking=False):
        raise VerificationRunning("the audit chain is being verified already; try again later")
    try:
        found = verify(engine)
    finally:
        _verifying.release()
    problem = str(found.problems[0]) if found.problems else None
    return ChainStatus(found.head, found.events, found.intact, problem)
