"""One Redis connection pool per process and URL, for Django's cache (see settings.CACHES)."""
import threading

import redis

_pools: dict[tuple, redis.ConnectionPool] = {}
_lock = threading.Lock()


class SharedConnectionPool(redis.ConnectionPool):
    """Django's RedisCache asks `from_url` for a pool once per cache object, and it makes a cache
    object per thread; this hands every thread the process's one pool for that URL."""

    @classmethod
    def from_url(cls, url: str, **kwargs) -> redis.ConnectionPool:
        key = (url, tuple(sorted(kwargs.items())))
        with _lock:
            if key not in _pools:
                _pools[key] = redis.ConnectionPool.from_url(url, **kwargs)
            return _pools[key]
