"""The detection queue in front of a real one-process pool: order by urgency, deadlines."""

from __future__ import annotations

import asyncio
import time

import cv2
import pytest

from attendance.vision.hall import HallSpec, render_hall
from workers.analysis import CountJob, Policy, Urgency
from workers.detection import DetectionQueue
from workers.pool import DetectionPool

POLICY = Policy(recount_every_s=300, refresh_every_s=1800, frozen_after_s=60)


def _job(width: int, height: int) -> CountJob:
    faces = (10, 30) if width < 640 else (18, 60)
    frame, _ = render_hall(HallSpec(8, width, height, 2, *faces))
    jpeg = cv2.imencode(".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR))[1].tobytes()
    return CountJob("calibrate", POLICY, None, jpeg=jpeg)


@pytest.fixture(scope="module")
def pool():
    pool = DetectionPool(1)
    yield pool
    pool.close()


def test_waiting_jobs_start_most_urgent_first_then_longest_waiting(pool):
    long_job, small = _job(1280, 720), _job(320, 180)
    started: list[str] = []

    async def submit(queue, name, urgency, since):
        result = await queue.count(small, urgency, since, time.time() + 60)
        started.append(name)  # one process: jobs finish in the order they started
        return result

    async def scenario():
        queue = DetectionQueue(pool)
        busy = asyncio.ensure_future(queue.count(long_job, Urgency.REFRESH, 0, time.time() + 60))
        await asyncio.sleep(0)  # the long job takes the only process
        waiting = [
            submit(queue, "recount", Urgency.RECOUNT, 5),
            submit(queue, "first, late", Urgency.FIRST, 10),
            submit(queue, "changed", Urgency.CHANGED, 1),
            submit(queue, "first, early", Urgency.FIRST, 2),
        ]
        results = await asyncio.gather(busy, *waiting)
        return queue, results

    queue, results = asyncio.run(scenario())
    assert started == ["first, early", "first, late", "changed", "recount"]
    assert all(result is not None for result in results)
    assert (queue.waiting, queue.in_flight, queue.dropped) == (0, 0, 0)


def test_a_job_not_started_by_its_deadline_is_dropped_and_never_run(pool):
    long_job, small = _job(1280, 720), _job(320, 180)

    async def scenario():
        queue = DetectionQueue(pool)
        busy = asyncio.ensure_future(queue.count(long_job, Urgency.FIRST, 0, time.time() + 60))
        await asyncio.sleep(0)
        late = await queue.count(small, Urgency.FIRST, 1, time.time() + 0.05)
        waiting_after_deadline = queue.waiting
        counted = await busy
        return queue, late, waiting_after_deadline, counted

    queue, late, waiting, counted = asyncio.run(scenario())
    assert late is None and waiting == 0 and queue.dropped == 1
    assert counted.result.count > 0  # the job that had started finished normally
    assert pool.running == 0 and queue.in_flight == 0


def test_a_job_that_cannot_start_in_time_at_the_pools_pace_is_dropped_at_once(pool):
    long_job = _job(1280, 720)

    async def scenario():
        queue = DetectionQueue(pool)
        await queue.count(long_job, Urgency.FIRST, 0, time.time() + 60)  # learns the pace
        busy = [
            asyncio.ensure_future(queue.count(long_job, Urgency.FIRST, n, time.time() + 60))
            for n in range(3)
        ]
        await asyncio.sleep(0)  # one runs, two wait
        asked = time.monotonic()
        hopeless = await queue.count(long_job, Urgency.RECOUNT, 9, time.time() + queue.pace)
        answered = time.monotonic() - asked
        urgent = asyncio.ensure_future(
            queue.count(long_job, Urgency.FIRST, -1, time.time() + 2.5 * queue.pace)
        )
        await asyncio.gather(*busy, urgent)
        return queue, hopeless, answered, urgent.result()

    queue, hopeless, answered, urgent = asyncio.run(scenario())
    assert hopeless is None and answered < 0.05  # two ahead, one process, one job's time left
    assert urgent is not None  # first in line: it starts once the running job is done
    assert queue.dropped == 1 and queue.waiting == 0
