"""The Redis cache backend: django-redis with outages treated as misses."""

from __future__ import annotations

from typing import Any

from django_redis.cache import RedisCache, omit_exception


class ResilientRedisCache(RedisCache):
    """django-redis (``IGNORE_EXCEPTIONS``), except that ``add`` succeeds while
    Redis is unreachable.

    allauth's sign-in rate limiter takes a lock with ``add`` and, when it cannot,
    answers 429; with Redis down that would lock everyone out of signing in.
    During an outage the rate limit is not enforced instead (the outage is
    logged and visible in /health/ of the cache's users).
    """

    @omit_exception(return_value=True)
    def add(self, *args: Any, **kwargs: Any) -> Any:
        return self.client.add(*args, **kwargs)
