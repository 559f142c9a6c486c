"""The live events, typed: what workers publish on the bus and what web nodes read from it.

A worker's sampler publishes a `SampleEvent` for every sample (the web node's `LiveState`
judges the site's status from it, `/metrics` counts it); a sample writer publishes a
`StoreEvent` for every batch it fails to store and one when it stores again (`writer_health`).
Events are frozen and checked when built, so an event that exists is well formed, whoever
built it, and one instance can go to every subscriber of a process.

On the wire (Redis pub/sub: one JSON object per message) an event is `to_json()`: its fields by
name, times in ISO 8601, plus `"kind"`. `parse` reads one back and raises `MalformedEvent` for
anything else: an unknown kind, a missing field, a field of the wrong type. Fields it does not
know are ignored, so a newer publisher may add one without breaking older readers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar

from attendance.store.models import SampleStatus

STATUSES = frozenset(status.value for status in SampleStatus)


class MalformedEvent(ValueError):
    """An event that is not one of ours, or not in the shape of its kind."""


@dataclass(frozen=True, slots=True)
class SampleEvent:
    """One slot of one site sampled (stored or on its way to the database)."""

    kind: ClassVar[str] = "sample"
    site: str  # the site's code
    slot: datetime  # the slot's start, aware
    status: str  # a SampleStatus value
    count: int | None = None  # faces counted; None when the sample has no figure
    lag_s: float | None = None  # from the slot's start to the sample
    detect_ms: float | None = None  # time to count the frame, when it was counted

    def __post_init__(self) -> None:
        _text(self, "site")
        if not isinstance(self.slot, datetime) or self.slot.tzinfo is None:
            raise MalformedEvent(f"slot: expected an aware datetime, got {self.slot!r}")
        if not isinstance(self.status, str) or self.status not in STATUSES:
            raise MalformedEvent(f"status: expected one of {sorted(STATUSES)}, got {self.status!r}")
        object.__setattr__(self, "status", str(self.status))  # a SampleStatus becomes its value
        _number(self, "count", int)
        _number(self, "lag_s", float)
        _number(self, "detect_ms", float)

    def to_json(self) -> dict[str, Any]:
        return _to_json(self) | {"slot": self.slot.isoformat()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SampleEvent:
        slot = data.get("slot")
        try:
            when = datetime.fromisoformat(slot) if isinstance(slot, str) else slot
        except ValueError:
            raise MalformedEvent(f"slot: not an ISO 8601 time: {slot!r}") from None
        return _from_json(cls, {**data, "slot": when})


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """A sample writer's last attempt: `error` says why it could not store; None: it stored."""

    kind: ClassVar[str] = "store"
    writer: str  # the writer's name (its worker's id)
    error: str | None = None

    def __post_init__(self) -> None:
        _text(self, "writer")
        if self.error is not None and not isinstance(self.error, str):
            raise MalformedEvent(f"error: expected text or null, got {self.error!r}")

    def to_json(self) -> dict[str, Any]:
        return _to_json(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StoreEvent:
        return _from_json(cls, data)


Event = SampleEvent | StoreEvent
KINDS: dict[str, type[SampleEvent] | type[StoreEvent]] = {
    kind.kind: kind for kind in (SampleEvent, StoreEvent)
}


def parse(data: object) -> Event:
    """The event a decoded JSON message holds; MalformedEvent when it holds none."""
    if not isinstance(data, dict):
        raise MalformedEvent(f"expected a JSON object, got {type(data).__name__}")
    kind = KINDS.get(data.get("kind"))  # type: ignore[arg-type]
    if kind is None:
        raise MalformedEvent(f"unknown kind {data.get('kind')!r}")
    return kind.from_json(data)


def _to_json(event: Event) -> dict[str, Any]:
    return {"kind": event.kind} | {f.name: getattr(event, f.name) for f in fields(event)}


def _from_json(cls, data: Mapping[str, Any]):
    known = {f.name for f in fields(cls)}
    try:
        return cls(**{name: value for name, value in data.items() if name in known})
    except TypeError as exc:  # a required field missing
        raise MalformedEvent(f"{cls.kind}: {exc}") from None


def _text(event: Event, name: str) -> None:
    value = getattr(event, name)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"{name}: expected non-empty text, got {value!r}")


def _number(event: Event, name: str, kind: type) -> None:
    """None, or a finite number of `kind` (an int passes for a float; a bool never passes):
    JSON has no NaN, and a browser's JSON.parse refuses Python's."""
    value = getattr(event, name)
    accepted = (int,) if kind is int else (int, float)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, accepted) or not math.isfinite(value):
        raise MalformedEvent(f"{name}: expected {kind.__name__} or null, got {value!r}")
