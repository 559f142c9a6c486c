"""Batched enqueueing writes jobs arq itself reads, once per job id."""

from __future__ import annotations

import asyncio

from arq.connections import RedisSettings, create_pool
from arq.jobs import Job as ArqJob
from arq.jobs import JobStatus

from workers.cluster.enqueue import Enqueuer, Job


def test_a_batch_is_enqueued_once_in_arqs_own_format(redis_url, redis_prefix):
    async def scenario():
        redis = await create_pool(RedisSettings.from_dsn(redis_url))
        queue = f"{redis_prefix}:queue:w1"
        jobs = [
            Job(f"{redis_prefix}:{n}:1000", queue, "sample", (n, 7, 1.0, 60.0), 60) for n in (1, 2)
        ]
        enqueuer = Enqueuer(redis)
        first = await enqueuer.enqueue(jobs)
        again = await enqueuer.enqueue(
            [*jobs, Job(f"{redis_prefix}:3:1000", queue, "sample", (3, 7, 1.0, 60.0), 60)]
        )
        queued = await redis.zrange(queue, 0, -1)
        info = await ArqJob(jobs[1].job_id, redis, _queue_name=queue).info()
        status = await ArqJob(jobs[0].job_id, redis, _queue_name=queue).status()
        ttl = await redis.pttl(f"arq:job:{jobs[0].job_id}")
        await redis.aclose()
        return first, again, queued, info, status, ttl

    first, again, queued, info, status, ttl = asyncio.run(scenario())
    assert (first, again) == (2, 1)  # the third job only
    assert len(queued) == 3
    assert (info.function, info.args) == ("sample", (2, 7, 1.0, 60.0))
    assert status == JobStatus.queued
    assert 0 < ttl <= 60_000
