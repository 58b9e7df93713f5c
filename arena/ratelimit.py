"""Fixed-window counters in the cache (Redis in production, so they are shared by all web
processes; local memory in the embedded default)."""
import time

from django.core.cache import cache


def rate_limit_hit(*, key: str, limit: int, window_s: int) -> bool:
    """Count one event for `key`; True when it goes over `limit` in the current window."""
    window = int(time.time() // window_s)
    cache_key = f"rl:{key}:{window}"
    # add() is atomic and only sets when missing; incr() is atomic on Redis and locmem.
    cache.add(cache_key, 0, timeout=window_s + 5)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window_s + 5)
        count = 1
    return count > limit
