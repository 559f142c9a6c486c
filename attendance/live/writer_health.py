"""Whether the sample writers can store, as /readyz reports it beside the database's answer.

A writer publishes a `StoreEvent` (attendance/live/events.py) on the live bus for every batch
it fails to store (each retry, so at least every 30 s while it fails) and one when it stores
again, so every web node hears the writers of every worker. While a writer's last attempt
failed the service is not ready: the database may answer reads, but samples are lost to it.
A failure not repeated within FORGET_AFTER_S is forgotten: that writer has stopped (its worker
is gone), and the readiness check of samples arriving takes over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from attendance.live.bus import EventBus
from attendance.live.events import Event, StoreEvent

FORGET_AFTER_S = 90.0


def publish_outcome(bus: EventBus, writer: str, error: str | None) -> None:
    """`error`: why the last batch could not be stored; None once one is stored again."""
    bus.publish(StoreEvent(writer, error))


@dataclass(frozen=True)
class Failing:
    since: float  # epoch seconds of the first failure in a row
    last: float  # and of the latest
    error: str


@dataclass
class WriterHealth:
    failing: dict[str, Failing] = field(default_factory=dict)  # by writer

    def on_event(self, event: Event, now: float) -> None:
        if not isinstance(event, StoreEvent):
            return
        writer, error = event.writer, event.error
        if error is None:
            self.failing.pop(writer, None)
            return
        since = self.failing[writer].since if writer in self.failing else now
        self.failing[writer] = Failing(since, now, error)

    def problems(self, now: float) -> list[str]:
        return [
            f"writer {writer} cannot store samples since "
            f"{datetime.fromtimestamp(failing.since, UTC).isoformat()}: {failing.error}"
            for writer, failing in sorted(self.failing.items())
            if now - failing.last <= FORGET_AFTER_S
        ]
