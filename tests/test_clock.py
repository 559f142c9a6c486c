"""The workers' clock: the system's, and the manual one tests drive time with."""

from __future__ import annotations

import asyncio
import time

from attendance.clock import SYSTEM, ManualClock


async def _let_run(turns: int = 1) -> None:
    """Give the other tasks `turns` turns of the loop (no time passes)."""
    for _ in range(turns):
        await asyncio.sleep(0)


def test_the_system_clock_is_the_wall_clock_and_wakes_early_on_its_event():
    async def scenario() -> float:
        wake = asyncio.Event()
        asyncio.get_running_loop().call_later(0.01, wake.set)
        started = time.monotonic()
        await SYSTEM.sleep(30, wake)
        return time.monotonic() - started

    assert abs(SYSTEM.now() - time.time()) < 1
    assert asyncio.run(scenario()) < 5


def test_a_manual_clock_wakes_sleepers_in_order_only_when_advanced():
    async def scenario() -> list[tuple[str, float]]:
        clock = ManualClock(1000.0)
        woke: list[tuple[str, float]] = []

        async def sleeper(name: str, seconds: float) -> None:
            await clock.sleep(seconds)
            woke.append((name, clock.now()))

        tasks = [asyncio.create_task(sleeper(n, s)) for n, s in (("late", 60), ("soon", 5))]
        await _let_run()
        assert clock.sleepers == 2 and not woke
        clock.advance(4.9)
        await _let_run()
        assert not woke  # not yet due
        clock.advance(100)
        await asyncio.gather(*tasks)
        return woke

    assert asyncio.run(scenario()) == [("soon", 1104.9), ("late", 1104.9)]


def test_a_manual_sleep_ends_when_its_event_is_set_and_time_stands_still():
    async def scenario() -> tuple[float, int]:
        clock = ManualClock(50.0)
        wake = asyncio.Event()
        sleeping = asyncio.create_task(clock.sleep(3600, wake))
        await _let_run()
        wake.set()
        await sleeping
        return clock.now(), clock.sleepers

    assert asyncio.run(scenario()) == (50.0, 0)


def test_autojump_moves_to_each_wake_up_but_not_while_busy():
    async def scenario() -> tuple[list[float], float]:
        clock = ManualClock(0.0)
        busy = True
        jumping = asyncio.create_task(clock.autojump(lambda: busy))
        ticks = []

        async def ticker() -> None:
            for _ in range(3):
                await clock.sleep(60)
                ticks.append(clock.now())

        ticking = asyncio.create_task(ticker())
        for _ in range(20):
            await _let_run()
        held = clock.now()  # busy: time must not move
        busy = False
        started = time.monotonic()
        await ticking
        took = time.monotonic() - started
        jumping.cancel()
        assert held == 0.0 and took < 5  # three minutes of schedule, at once
        return ticks, held

    assert asyncio.run(scenario()) == ([60.0, 120.0, 180.0], 0.0)
