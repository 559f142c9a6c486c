"""Leader election with a Redis lease: one scheduler at a time, a standby takes over when the
holder stops renewing (it died, hung, or lost Redis) within `lease_s`.

The lease is a key holding the holder's id with a time to live. Renewal and release check the
holder in one Lua script, so a holder whose lease already passed to another can never extend
or delete the new holder's lease.
"""

from __future__ import annotations

from redis.asyncio import Redis

# KEYS[1] lease key; ARGV[1] holder, ARGV[2] lease in ms. 1 when ARGV[1] holds the lease after.
_ACQUIRE_OR_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if holder then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, redis: Redis, key: str, holder: str, lease_s: float):
        self.redis, self.key, self.holder = redis, key, holder
        self.lease_ms = max(1, round(lease_s * 1000))
        self._acquire = redis.register_script(_ACQUIRE_OR_RENEW)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)

    async def hold(self) -> bool:
        """Take the lease if it is free, renew it if ours; whether we hold it now."""
        return bool(await self._acquire(keys=[self.key], args=[self.holder, self.lease_ms]))

    async def renew(self) -> bool:
        """Extend the lease if it is still ours. A holder that finds it gone must stop: even if
        the key is free again, another may have held it (and scheduled) meanwhile."""
        return bool(await self._renew(keys=[self.key], args=[self.holder, self.lease_ms]))

    async def release(self) -> None:
        await self._release(keys=[self.key], args=[self.holder])

    async def holder_now(self) -> str | None:
        value = await self.redis.get(self.key)
        return value.decode() if value is not None else None
