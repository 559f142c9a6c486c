"""The clock the workers plan slots by, passed in so that tests drive time instead of sleeping.

What it governs: which slot is due, when a stopped runtime's window ends, how late a sample is,
how old a site's last usable frame is. What it does not: waits on real things (a grab's
timeout, a detection deadline, Redis TTLs, reconnect backoff), which stay on the system's time.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch."""

    async def sleep(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        """Sleep `seconds`, or less if `wake` is set meanwhile."""


class SystemClock:
    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        if wake is None:
            await asyncio.sleep(seconds)
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), seconds)


SYSTEM = SystemClock()


class ManualClock:
    """A clock that moves only when told: `advance`, or `autojump` while it runs.

    For tests of what happens over minutes of schedule: the code under test sleeps on this
    clock, and the test moves it to the next wake-up as soon as nothing else is to be done.
    """

    def __init__(self, start: float = 1_800_000_000.0):
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future]] = []
        self._order = itertools.count()
        self._slept = asyncio.Event()

    def now(self) -> float:
        return self._now

    @property
    def sleepers(self) -> int:
        return sum(not future.done() for _, _, future in self._sleepers)

    async def sleep(self, seconds: float, wake: asyncio.Event | None = None) -> None:
        woken = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + max(0.0, seconds), next(self._order), woken))
        self._slept.set()
        if wake is None:
            await woken
            return
        waking = asyncio.ensure_future(wake.wait())
        try:
            await asyncio.wait({woken, waking}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            waking.cancel()

    def advance(self, seconds: float) -> None:
        """Move time on by `seconds`, waking every sleeper due by then, earliest first."""
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, woken = heapq.heappop(self._sleepers)
            if not woken.done():
                woken.set_result(None)

    async def autojump(self, busy: Callable[[], bool] = lambda: False) -> None:
        """Until cancelled: whenever somebody sleeps, nothing else is ready to run and `busy()`
        is false (e.g. no sample in flight), jump to the earliest wake-up."""
        while True:
            for _ in range(5):  # let whatever the last wake-up started run up to its next await
                await asyncio.sleep(0)
            self._drop_woken()
            if not self._sleepers:
                self._slept.clear()
                await self._slept.wait()
            elif busy():
                await asyncio.sleep(0.001)  # real work (a grab, a thread) in progress
            else:
                self.advance(self._sleepers[0][0] - self._now)

    def _drop_woken(self) -> None:
        while self._sleepers and self._sleepers[0][2].done():  # woken by their event
            heapq.heappop(self._sleepers)
