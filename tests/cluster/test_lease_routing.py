"""The scheduler's lease on a real Redis, and how sites are spread over workers."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from redis.asyncio import Redis

from workers.cluster.lease import Lease
from workers.cluster.routing import Registry, owner


def test_one_holder_at_a_time_and_a_standby_takes_over_after_the_lease(redis_url, redis_prefix):
    async def scenario() -> None:
        redis = Redis.from_url(redis_url)
        key = f"{redis_prefix}:leader"
        first, second = (Lease(redis, key, name, 0.5) for name in ("first", "second"))
        assert await first.hold()
        assert not await second.hold()
        assert await first.hold()  # renewing
        await second.release()  # not its lease: nothing happens
        assert await first.holder_now() == "first"
        started = time.monotonic()
        while not await second.hold():  # `first` died: it renews no more
            await asyncio.sleep(0.05)
        assert 0.3 < time.monotonic() - started < 1.0
        assert not await first.hold()  # back from a pause, it finds the lease taken
        assert not await first.renew()
        assert await second.renew()
        await second.release()
        assert await first.holder_now() is None
        await redis.aclose()

    asyncio.run(scenario())


def test_a_worker_that_stops_beating_is_dead_and_forgotten(redis_url, redis_prefix):
    async def scenario() -> None:
        redis = Redis.from_url(redis_url)
        registry = Registry(redis, f"{redis_prefix}:workers")
        await registry.beat("a")
        await registry.beat("b")
        assert await registry.census(0.5) == (["a", "b"], [])
        await asyncio.sleep(0.3)
        await registry.beat("b")
        await asyncio.sleep(0.3)
        assert await registry.census(0.5) == (["b"], ["a"])
        assert await registry.census(0.5) == (["b"], [])  # reported dead once
        await registry.leave("b")
        assert await registry.census(0.5) == ([], [])
        await redis.aclose()

    asyncio.run(scenario())


def test_sites_spread_evenly_and_only_a_leaving_workers_sites_move():
    sites = range(1, 12001)
    three = ["host-a:1:aa", "host-b:2:bb", "host-c:3:cc"]
    before = {site: owner(site, three) for site in sites}
    shares = Counter(before.values())
    assert all(3600 < shares[worker] < 4400 for worker in three), shares
    after = {site: owner(site, three[:2]) for site in sites}  # host-c is gone
    moved = {site for site in sites if before[site] != after[site]}
    assert moved == {site for site in sites if before[site] == "host-c:3:cc"}
    joined = {site: owner(site, [*three, "host-d:4:dd"]) for site in sites}
    moved = {site for site in sites if before[site] != joined[site]}
    assert all(joined[site] == "host-d:4:dd" for site in moved)  # only to the newcomer
    assert 2400 < len(moved) < 3600  # about a quarter
