"""Which worker samples which site: rendezvous (highest random weight) hashing over the live
workers.

Every site goes to the worker with the highest hash of (worker, site). When a worker joins,
only the sites it now wins move to it (about 1/N); when one leaves, only its own sites move.
So a site's jobs keep reaching the process that holds its stream connection.

Liveness is a sorted set of heartbeats stamped with Redis's own clock, so machines whose clocks
disagree still agree on who is alive.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from redis.asyncio import Redis

# KEYS[1] workers; ARGV[1] worker id. Stamps the worker with Redis's clock (ms).
_HEARTBEAT = """
local now = redis.call('TIME')
redis.call('ZADD', KEYS[1], now[1] * 1000 + math.floor(now[2] / 1000), ARGV[1])
return 1
"""
# KEYS[1] workers; ARGV[1] ttl in ms. Returns {alive…, '|', dead…} and forgets the dead.
_CENSUS = """
local now = redis.call('TIME')
local limit = now[1] * 1000 + math.floor(now[2] / 1000) - tonumber(ARGV[1])
local alive = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. limit, '+inf')
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', limit)
if #dead > 0 then
  redis.call('ZREM', KEYS[1], unpack(dead))
end
table.insert(alive, '|')
for _, worker in ipairs(dead) do
  table.insert(alive, worker)
end
return alive
"""


def owner(site_id: int, workers: Sequence[str]) -> str:
    """The worker that samples the site, among `workers` (not empty)."""
    return max(workers, key=lambda worker: _weight(worker, site_id))


def _weight(worker: str, site_id: int) -> bytes:
    return hashlib.blake2b(f"{worker}|{site_id}".encode(), digest_size=8).digest()


class Registry:
    """The workers' heartbeats, in Redis."""

    def __init__(self, redis: Redis, key: str):
        self.redis, self.key = redis, key
        self._heartbeat = redis.register_script(_HEARTBEAT)
        self._census = redis.register_script(_CENSUS)

    async def beat(self, worker: str) -> None:
        await self._heartbeat(keys=[self.key], args=[worker])

    async def leave(self, worker: str) -> None:
        await self.redis.zrem(self.key, worker)

    async def census(self, ttl_s: float) -> tuple[list[str], list[str]]:
        """(alive, dead) workers; the dead are forgotten (the caller moves their jobs)."""
        names = [name.decode() for name in await self._census(keys=[self.key], args=[ttl_s * 1000])]
        split = names.index("|")
        return sorted(names[:split]), names[split + 1 :]
