"""Fixed-window counters in the cache (Redis in production, so they are shared by all web
processes; local memory in the embedded default)."""
import functools
import time

import redis
from django.core.cache import cache, caches

from config.redis_pool import RedisCache


@functools.cache
def redis_client() -> redis.Redis | None:
    """The Redis client of the cache (one per process, thread-safe: config/redis_pool.py), or
    None when the cache is not Redis.

    Why not cache.add() + cache.incr(): that is three round trips (SET NX, EXISTS, INCRBY); on
    the vote path these were ~0.3 ms of web CPU per vote (py-spy,
    tests/bench/test_vote_ingestion.py). Keys made with make_and_validate_key and plain integer
    values are what Django's RedisCache itself writes, so cache.get() reads these counters and
    cache.clear() resets them."""
    backend = caches["default"]
    return backend.redis_client() if isinstance(backend, RedisCache) else None


def counter_incr(key: str, *, timeout_s: int | None) -> int:
    """Add one to the counter `key` (created at 0 with `timeout_s`, None: no expiry); the new count.
    One round trip on Redis."""
    client = redis_client()
    if client is None:
        cache.add(key, 0, timeout=timeout_s)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=timeout_s)
            return 1
    redis_key = cache.make_and_validate_key(key)
    if timeout_s is None:
        return client.incr(redis_key)
    # MULTI/EXEC: the expiry is set in the same step that creates the key, so no key outlives its window.
    pipe = client.pipeline(transaction=True)
    pipe.set(redis_key, 0, ex=timeout_s, nx=True)
    pipe.incr(redis_key)
    return pipe.execute()[1]


def rate_limit_hit(*, key: str, limit: int, window_s: int) -> bool:
    """Count one event for `key`; True when it goes over `limit` in the current window."""
    window = int(time.time() // window_s)
    return counter_incr(f"rl:{key}:{window}", timeout_s=window_s + 5) > limit
