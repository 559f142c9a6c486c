"""Verifying the audit log: the chain walked in one snapshot, and every sample listed by a
`samples.store` event checked against its digest (see `attendance.store.audit_log`).

The chain alone cannot show that its newest events were deleted: keep the head that
`attendance audit verify` prints (e.g. in a signed report) and give it later as --head.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Engine

from attendance.store import audit_log
from attendance.store.audit_log import SAMPLES_STORED, StoredEvent, event_hash, sample_digest

MAX_KEPT = 1_000  # problems kept for the report; all of them are counted


@dataclass(frozen=True)
class Problem:
    kind: str  # "event", "sample" or "head"
    id: int | str
    text: str

    def __str__(self) -> str:
        return f"{self.kind} {self.id}: {self.text}"

    def as_dict(self) -> dict[str, Any]:
        return {self.kind: self.id, "problem": self.text}


@dataclass
class Verification:
    events: int = 0
    samples: int = 0
    head_id: int | None = None
    head: str | None = None
    given_head: str | None = None  # a head printed earlier, to be found in the chain
    given_head_at: int | None = None  # the id of the event that has it
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return self.problem_count == 0

    def found(self, kind: str, id_: int | str, text: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_KEPT:
            self.problems.append(Problem(kind, id_, text))

    def as_dict(self) -> dict[str, Any]:
        return {
            "intact": self.intact,
            "events": self.events,
            "samples": self.samples,
            "head": {"id": self.head_id, "hash": self.head},
            "given_head": {"hash": self.given_head, "id": self.given_head_at},
            "problem_count": self.problem_count,
            "problems": [problem.as_dict() for problem in self.problems],
        }


def verify(engine: Engine, head: str | None = None) -> Verification:
    """Walk the chain and the samples in one snapshot, streaming both: every event links to the
    one before and hashes to its stored hash, ids have no gaps, every listed sample still has
    its digest and every stored sample is listed. `head`: a hash printed earlier, which must
    still be in the chain (the only way to notice events deleted from its end)."""
    result, listing = Verification(given_head=head), Listing()
    with audit_log.snapshot(engine) as connection:
        _check_chain(audit_log.events(connection), result, listing, head)
        _SampleWalk(listing, result).run(audit_log.samples(connection))
    if head is not None and result.given_head_at is None:
        end = f"event {result.head_id}" if result.head_id else "no event"
        result.found(
            "head",
            head,
            f"not in the chain, which now ends at {end}: events were deleted from its end, "
            "or the chain was rewritten",
        )
    return result


def _check_chain(
    events: Iterator[StoredEvent], result: Verification, listing: Listing, head: str | None
) -> None:
    previous: StoredEvent | None = None
    for event in events:
        _check_event(event, previous, result)
        if event.action == SAMPLES_STORED:
            _list_samples(event, listing, result)
        if head is not None and event.hash == head:
            result.given_head_at = event.id
        previous = event
        result.events += 1
    if previous is not None:
        result.head_id, result.head = previous.id, previous.hash


def _check_event(event: StoredEvent, previous: StoredEvent | None, result: Verification) -> None:
    expected = previous.id + 1 if previous else 1
    if event.id != expected:
        result.found("event", expected, _missing(expected, event.id - 1))
    elif previous is None and event.prev_hash is not None:
        result.found("event", event.id, "has a prev_hash, but no event comes before it")
    elif previous is not None and event.prev_hash != previous.hash:
        result.found("event", event.id, f"prev_hash is not the hash of event {previous.id}")
    if event_hash(event.prev_hash, event) != event.hash:
        result.found("event", event.id, "hash does not match its content")


def _missing(first: int, last: int) -> str:
    if first == last:
        return "missing (deleted)"
    if last == first + 1:
        return f"missing (deleted), and so is event {last}"
    return f"missing (deleted), and so are events {first + 1}–{last}"


def _list_samples(event: StoredEvent, listing: Listing, result: Verification) -> None:
    try:
        listing.add(event.id, event.payload["samples"])
    except (TypeError, ValueError, KeyError, OverflowError):
        result.found("event", event.id, "its list of samples is malformed")


class Listed(NamedTuple):
    sample_id: int
    event_id: int
    face_count: int | None
    digest: bytes


class Listing:
    """The samples that `samples.store` events list, packed (56 bytes each) so that millions of
    them fit in memory, then walked in sample id order."""

    NO_COUNT = -(2**63)

    def __init__(self) -> None:
        self.ids, self.events, self.counts = array("q"), array("q"), array("q")
        self.digests = bytearray()

    def add(self, event_id: int, entries: Iterable[Sequence[Any]]) -> None:
        for sample_id, face_count, digest in entries:
            packed = bytes.fromhex(digest)
            if len(packed) != 32:
                raise ValueError(f"not a SHA-256: {digest!r}")
            count = self.NO_COUNT if face_count is None else face_count
            checked = array("q", (sample_id, event_id, count))  # raises before anything is kept
            self.ids.append(checked[0])
            self.events.append(checked[1])
            self.counts.append(checked[2])
            self.digests += packed

    def in_id_order(self) -> Iterator[Listed]:
        if not self.ids:
            return
        ids = np.frombuffer(self.ids, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        events = np.frombuffer(self.events, dtype=np.int64)
        counts = np.frombuffer(self.counts, dtype=np.int64)
        for start in range(0, len(order), 65_536):
            part = order[start : start + 65_536]
            columns = (part, ids[part], events[part], counts[part])
            for i, sample_id, event_id, count in zip(*(c.tolist() for c in columns), strict=True):
                face_count = None if count == self.NO_COUNT else count
                digest = bytes(self.digests[i * 32 : i * 32 + 32])
                yield Listed(sample_id, event_id, face_count, digest)


class _SampleWalk:
    """Stored samples and listed ones side by side, both in sample id order."""

    def __init__(self, listing: Listing, result: Verification):
        self.listed = listing.in_id_order()
        self.entry = next(self.listed, None)
        self.result = result

    def run(self, stored: Iterator[tuple[int, dict[str, Any], list[tuple]]]) -> None:
        for sample_id, sample, identified in stored:
            self.result.samples += 1
            self._deleted_before(sample_id)
            if self.entry is None or self.entry.sample_id > sample_id:
                self.result.found(
                    "sample",
                    sample_id,
                    f"not listed in any {SAMPLES_STORED} event: stored behind the "
                    "application's back",
                )
                continue
            self._compare(self.entry, sample, identified)
            self._listed_again(self.entry)
        self._deleted_before(math.inf)

    def _deleted_before(self, sample_id: float) -> None:
        while self.entry is not None and self.entry.sample_id < sample_id:
            lister = self.entry.event_id
            self.result.found(
                "sample", self.entry.sample_id, f"missing (deleted); event {lister} lists it"
            )
            self.entry = next(self.listed, None)

    def _compare(self, entry: Listed, sample: dict[str, Any], identified: list[tuple]) -> None:
        if bytes.fromhex(sample_digest(sample, identified)) == entry.digest:
            return
        now = sample["face_count"]
        hint = (
            f"face_count was {entry.face_count}, now {now}"
            if now != entry.face_count
            else "another field than face_count, or its identifications, changed"
        )
        self.result.found(
            "sample", entry.sample_id, f"does not match event {entry.event_id}: {hint}"
        )

    def _listed_again(self, first: Listed) -> None:
        self.entry = next(self.listed, None)
        while self.entry is not None and self.entry.sample_id == first.sample_id:
            self.result.found(
                "sample",
                first.sample_id,
                f"listed again in event {self.entry.event_id} (first in {first.event_id})",
            )
            self.entry = next(self.listed, None)
