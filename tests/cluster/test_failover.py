"""A real cluster under failure: worker processes killed with SIGKILL, the scheduler's leader
gone, Redis restarted, PostgreSQL restarted. Through all of it every slot is recorded once."""

from __future__ import annotations

import signal
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime

import pytest

from tests.cluster.harness import CADENCE, cluster, wait_until
from workers.schedule import phase, slot_start

pytestmark = pytest.mark.postgres
SITES = 12  # rendezvous hashing gives both workers some: all to one is 2 in 4096


def _slots_between(code: str, start: float, end: float) -> set[datetime]:
    """The slots of a site that start in [start, end)."""
    slot = slot_start(start, CADENCE, phase(code, CADENCE))
    slots = set()
    while slot < end:
        if slot >= start:
            slots.add(datetime.fromtimestamp(slot, UTC))
        slot += CADENCE
    return slots


def _pids(running) -> set[str]:
    return {pid for _, _, pid, _, _ in running.samples()}


def _assert_every_slot_once(running, start: float, end: float) -> None:
    samples = running.samples()
    keys = Counter((code, slot) for code, slot, *_ in samples)
    assert max(keys.values()) == 1
    for n in range(SITES):
        code = f"S-{n:03d}"
        missing = _slots_between(code, start, end) - {slot for c, slot in keys if c == code}
        assert not missing, f"{code}: slots {sorted(missing)} not recorded"


def test_killed_leader_worker_its_sites_and_the_schedule_move_to_the_other(
    cli, postgres_url, redis_url, redis_prefix, tmp_path
):
    with cluster(cli, postgres_url, redis_url, redis_prefix, tmp_path, SITES) as running:
        running.start_worker("a")
        running.start_worker("b")
        both = {running.pid("a"), running.pid("b")}
        wait_until(lambda: _pids(running) >= both, 60, "both workers sampling", running)
        joined = time.time()
        time.sleep(2 * CADENCE)
        owners = defaultdict(set)
        for code, slot, pid, _, _ in running.samples():
            if slot.timestamp() > joined:
                owners[code].add(pid)
        assert all(len(pids) == 1 for pids in owners.values())  # sticky: one worker per site
        leader = running.worker_of(wait_until(running.leader, 10, "a leader", running))
        survivor = "b" if leader == "a" else "a"
        killed_at = time.time()
        running.stop(leader, signal.SIGKILL)

        def taken_over() -> bool:
            holder = running.leader()
            return holder is not None and running.worker_of(holder) == survivor

        wait_until(taken_over, 3 + CADENCE, "the survivor leading", running)
        # Within two cadences every site, the dead worker's too, is sampled by the survivor.
        deadline = killed_at + 2 * CADENCE
        wait_until(lambda: time.time() > deadline + 3, 30, "two cadences", running)
        by_survivor = {
            code
            for code, slot, pid, _, _ in running.samples()
            if pid == running.pid(survivor) and killed_at < slot.timestamp() <= deadline
        }
        assert by_survivor == {f"S-{n:03d}" for n in range(SITES)}
        # Nothing lost: every slot from before the kill to now is recorded, each once.
        _assert_every_slot_once(running, killed_at - CADENCE, time.time() - CADENCE - 3)


def _both_sampling(running) -> None:
    both = {running.pid("a"), running.pid("b")}
    wait_until(lambda: _pids(running) >= both, 60, "both workers sampling", running)


def _sampled_since(running, moment: float) -> set[str]:
    return {code for code, slot, *_ in running.samples() if slot.timestamp() > moment}


def test_redis_restarted_workers_reconnect_and_no_slot_is_lost(
    cli, postgres_url, private_redis, tmp_path
):
    with cluster(cli, postgres_url, private_redis.url, "attendance", tmp_path, SITES) as running:
        running.start_worker("a")
        running.start_worker("b")
        _both_sampling(running)
        stopped_at = time.time()
        private_redis.stop()  # Redis keeps nothing on disk: queues, lease, heartbeats are gone
        time.sleep(3)
        private_redis.start()
        restarted_at = time.time()
        wait_until(running.leader, 15, "a leader after the restart", running)
        every_site = {f"S-{n:03d}" for n in range(SITES)}
        wait_until(
            lambda: _sampled_since(running, restarted_at) == every_site,
            3 * CADENCE,
            "every site sampled after the restart",
            running,
        )
        time.sleep(CADENCE)
        assert all(process.poll() is None for process in running.workers.values())
        # Slots due while Redis was away were caught up by the new leader.
        _assert_every_slot_once(running, stopped_at - CADENCE, time.time() - CADENCE - 3)


def test_postgres_restarted_samples_are_retried_and_none_is_lost(
    cli, private_postgres, redis_url, redis_prefix, tmp_path
):
    with cluster(cli, private_postgres.url, redis_url, redis_prefix, tmp_path, SITES) as running:
        running.start_worker("a")
        running.start_worker("b")
        _both_sampling(running)
        stopped_at = time.time()
        private_postgres.stop()
        time.sleep(2 * CADENCE)  # two slots of every site taken while the database is away
        private_postgres.start()
        restarted_at = time.time()
        wait_until(
            lambda: len(_sampled_since(running, restarted_at)) == SITES,
            3 * CADENCE,
            "every site stored after the restart",
            running,
        )
        time.sleep(CADENCE)
        _assert_every_slot_once(running, stopped_at - CADENCE, time.time() - CADENCE - 3)
        outage = [s for s in running.samples() if stopped_at < s[1].timestamp() < restarted_at]
        assert len(outage) >= SITES  # stored after the restart, from frames taken during it
        assert all(stored.timestamp() > restarted_at for *_, stored in outage)
