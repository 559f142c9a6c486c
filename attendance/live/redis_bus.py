"""The live event bus across processes (cluster mode): the bus of attendance/live/bus.py with Redis
pub/sub behind it, so a web node hears the events of every worker and every other node.

Every event goes through Redis, the publisher's own too: each process hears each event exactly
once, in the order Redis relays them. Publishing never waits for Redis: the event goes on a
bounded outbox that a background task sends; while Redis is away the outbox keeps the newest
events and drops (and counts) the oldest. Pub/sub keeps nothing for a listener that is away, so
a node misses what was published while it was disconnected; a dashboard resyncs from the
database anyway.

On the channel an event is the JSON of `to_json()` (attendance/live/events.py). A message that
is not a well-formed event (another version's, a stray PUBLISH) is ignored and counted as
`malformed`, with a warning at most every MALFORMED_LOG_EVERY_S: it never stops the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque

import redis.asyncio as aioredis
from redis import exceptions

from attendance.live.bus import EventBus
from attendance.live.events import Event, MalformedEvent, parse
from attendance.outage import Outage

log = logging.getLogger("attendance.live.bus")

OUTBOX_SIZE = 5000
BATCH = 500  # events per pipeline
MAX_BACKOFF_S = 2.0
PING_S = 5.0  # a listener that heard nothing this long pings; two unanswered pings: reconnect
START_WAIT_S = 2.0
CLOSE_WAIT_S = 1.0
MALFORMED_LOG_EVERY_S = 10.0
# How Redis going away shows; any other exception is a bug and is logged with its traceback.
UNREACHABLE = (exceptions.ConnectionError, exceptions.TimeoutError, OSError, TimeoutError)


class RedisEventBus(EventBus):
    """`publish` and `subscribe` as in process, across every process on one Redis and prefix.

    Use it on one event loop: `async with RedisEventBus(url, prefix) as bus: ...`. The counters
    (`published`, `sent`, `received`, `dropped`, `malformed`) are for /metrics.
    """

    def __init__(self, url: str, prefix: str, listen: bool = True) -> None:
        """`listen=False` for a process that only publishes (a worker): it hears nothing."""
        super().__init__()
        self.listen = listen
        self.url, self.channel = url, f"{prefix}:events"
        self.sent = self.received = self.dropped = self.malformed = 0
        self._malformed_logged = (float("-inf"), 0)  # (monotonic time, `malformed`) of the last log
        self.subscribed = asyncio.Event()  # set while the listener hears the channel
        self._outbox: deque[str] = deque(maxlen=OUTBOX_SIZE)
        self._pending = asyncio.Event()  # the outbox has something
        self._idle = asyncio.Event()  # the outbox is empty and nothing is being sent
        self._idle.set()
        self._redis: aioredis.Redis | None = None
        self._tasks: list[asyncio.Task] = []

    def publish(self, event: Event) -> None:
        """Queue the event for Redis; local subscribers get it when Redis relays it back."""
        self.published += 1
        message = json.dumps(event.to_json(), ensure_ascii=False)
        if len(self._outbox) == self._outbox.maxlen:
            self.dropped += 1  # appending drops the oldest
        self._outbox.append(message)
        self._idle.clear()
        self._pending.set()

    async def start(self) -> None:
        """Start sending and listening; wait briefly for the subscription, so that a node that
        starts serving hears events. Redis being down is no error: the tasks keep trying."""
        self._redis = aioredis.Redis.from_url(self.url, socket_connect_timeout=2, socket_timeout=5)
        self._tasks = [asyncio.create_task(self._send_forever(), name="events-sender")]
        if self.listen:
            self._tasks.append(asyncio.create_task(self._listen_forever(), name="events-listener"))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.subscribed.wait(), START_WAIT_S)

    async def close(self) -> None:
        """Send what is queued (for up to CLOSE_WAIT_S), then stop and disconnect."""
        if self._tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._idle.wait(), CLOSE_WAIT_S)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        self.subscribed.clear()
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None

    async def __aenter__(self) -> RedisEventBus:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _send_forever(self) -> None:
        outage = Outage(log, "event sender: Redis", MAX_BACKOFF_S)
        while True:
            while not self._outbox:
                self._idle.set()
                self._pending.clear()
                await self._pending.wait()
            batch = [self._outbox.popleft() for _ in range(min(BATCH, len(self._outbox)))]
            await self._send(batch, outage)

    async def _send(self, batch: list[str], outage: Outage) -> None:
        """Send one batch, retrying while Redis is away (a batch whose reply was lost may go
        twice: better a count shown twice than a count lost)."""
        while True:
            try:
                if len(batch) == 1:
                    await self._redis.publish(self.channel, batch[0])
                else:
                    async with self._redis.pipeline(transaction=False) as pipe:
                        for message in batch:
                            pipe.publish(self.channel, message)
                        await pipe.execute()
            except UNREACHABLE as exc:
                await asyncio.sleep(outage.failed(exc))
                continue
            except Exception:  # a bug, not an outage: lose this batch, keep the sender
                log.exception("event sender: %d events lost", len(batch))
                self.dropped += len(batch)
                return
            self.sent += len(batch)
            outage.over()
            return

    async def _listen_forever(self) -> None:
        outage = Outage(log, "event listener: Redis", MAX_BACKOFF_S)
        while True:
            try:
                await self._listen(outage)
            except UNREACHABLE as exc:
                self.subscribed.clear()
                await asyncio.sleep(outage.failed(exc))
            except Exception:
                self.subscribed.clear()
                log.exception("event listener failed; subscribing again")
                await asyncio.sleep(MAX_BACKOFF_S)

    async def _listen(self, outage: Outage) -> None:
        """Hear the channel until the connection fails. A quiet connection is pinged: a network
        partition may never close the socket, and an unanswered ping is how we notice."""
        async with self._redis.pubsub() as pubsub:
            await pubsub.subscribe(self.channel)
            unanswered = 0
            while True:
                message = await pubsub.get_message(timeout=PING_S)
                if message is None:
                    if unanswered == 2:
                        raise TimeoutError(f"no answer to PING for {3 * PING_S:g} s")
                    unanswered += 1
                    await pubsub.ping()
                    continue
                unanswered = 0
                if message["type"] == "subscribe":
                    outage.over()
                    self.subscribed.set()
                elif message["type"] == "message":
                    self._fan_out(message["data"])

    def _fan_out(self, raw: bytes) -> None:
        try:
            event = parse(json.loads(raw))
        except (ValueError, TypeError) as exc:  # MalformedEvent is a ValueError, as is bad JSON
            self._ignored(raw, exc)
            return
        self.received += 1
        self.deliver(event)

    def _ignored(self, raw: bytes, problem: Exception) -> None:
        """Count a malformed message; log it unless one was logged within MALFORMED_LOG_EVERY_S
        (a publisher of another version could otherwise flood the log), saying how many were
        ignored unlogged since."""
        self.malformed += 1
        logged_at, logged_count = self._malformed_logged
        now = time.monotonic()
        if now - logged_at < MALFORMED_LOG_EVERY_S:
            return
        unlogged = self.malformed - logged_count - 1
        log.warning(
            "event listener: ignored a malformed event (%s): %.200r%s",
            problem if isinstance(problem, MalformedEvent) else f"not JSON: {problem}",
            raw,
            f"; {unlogged} more ignored since the last such warning" if unlogged else "",
        )
        self._malformed_logged = (now, self.malformed)

    def counters(self) -> dict[str, int]:
        return {
            "published": self.published,
            "sent": self.sent,
            "received": self.received,
            "dropped": self.dropped,
            "malformed": self.malformed,
        }
