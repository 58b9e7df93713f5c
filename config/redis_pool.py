"""Django's Redis cache with one connection pool and one client object per process and URL
(see settings.CACHES)."""
import threading

import redis
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

_pools: dict[tuple, redis.ConnectionPool] = {}  # kept for the process's life, as are their clients
_clients: dict[redis.ConnectionPool, redis.Redis] = {}
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


class SharedClientCacheClient(RedisCacheClient):
    """Django builds a new redis.Redis for every cache call (get_client); its constructor fills a
    table of ~200 response callbacks, and on the vote path that was about a third of reading the
    session (py-spy). A client object is thread-safe and holds no connection of its own, so one
    per pool serves every thread."""

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = _clients.get(pool)
        if client is None:
            with _lock:
                client = _clients.setdefault(pool, self._client(connection_pool=pool))
        return client


class RedisCache(DjangoRedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = SharedClientCacheClient

    def redis_client(self) -> redis.Redis:
        """The process's client on this cache's server, for commands Django's cache API lacks."""
        return self._cache.get_client(write=True)
