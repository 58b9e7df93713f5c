"""config/redis_pool.py: one Redis pool and one client object per process, across threads."""
import threading

from django.core.cache import cache, caches

from config.redis_pool import RedisCache


def test_every_thread_uses_the_one_client_and_the_cache_works():
    assert isinstance(caches["default"], RedisCache)  # the test settings run the production cache on Redis
    clients = []

    def use():
        own = caches["default"]  # Django gives each thread its own cache object
        own.set("redis-pool-test", 41)
        # the object itself, not its id: a finished thread's cache object could be freed and its
        # id reused by the next thread's
        clients.append((own, own._cache.get_client(), own._cache.get_client(write=True)))

    threads = [threading.Thread(target=use) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({id(own) for own, _, _ in clients}) == 3
    assert len({id(client) for _, read, write in clients for client in (read, write)}) == 1
    assert cache.incr("redis-pool-test") == 42
    # The rate-limit counters use that same client (and so the same connections).
    from arena.ratelimit import redis_client

    assert redis_client() is clients[0][1]
    cache.delete("redis-pool-test")
