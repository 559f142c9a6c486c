"""The live event bus: typed events (attendance/live/events.py), from workers to dashboards.

In-process here (the embedded deployment); cluster mode puts Redis pub/sub behind the same two
methods. A slow subscriber never slows the publisher: its queue is bounded and, when full, the
oldest event is dropped and counted (a dashboard resyncs from the database anyway).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from attendance.live.events import Event

QUEUE_SIZE = 1000


@dataclass
class Subscription:
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: int = 0


class EventBus:
    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []
        self.published = 0

    def publish(self, event: Event) -> None:
        self.published += 1
        self.deliver(event)

    def deliver(self, event: Event) -> None:
        """Hand an event to this process's subscribers."""
        for subscription in self._subscriptions:
            if subscription.queue.full():
                subscription.queue.get_nowait()
                subscription.dropped += 1
            subscription.queue.put_nowait(event)

    async def subscribe(self) -> AsyncIterator[Event]:
        subscription = Subscription()
        self._subscriptions.append(subscription)
        try:
            while True:
                yield await subscription.queue.get()
        finally:
            self._subscriptions.remove(subscription)
