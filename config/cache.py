"""
The shared cache on Redis, tolerant of an outage where that is safe: a cached value that
cannot be read is a miss and one that cannot be written is skipped, so pages and searches
keep working (slower) while Redis is down. ``add`` and ``incr`` — what rate limits and
lockouts count with — still raise, so those fail closed.
"""

import logging

from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("svl.cache")
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError)


class TolerantRedisCache(RedisCache):
    def _missing(self, operation: str, error: Exception) -> None:
        logger.warning("cache unavailable: %s skipped (%s)", operation, type(error).__name__)

    def get(self, key, default=None, version=None):
        try:
            return super().get(key, default, version)
        except UNAVAILABLE as error:
            self._missing("get", error)
            return default

    def get_many(self, keys, version=None):
        try:
            return super().get_many(keys, version)
        except UNAVAILABLE as error:
            self._missing("get_many", error)
            return {}

    def set(self, key, value, *args, **kwargs):
        try:
            return super().set(key, value, *args, **kwargs)
        except UNAVAILABLE as error:
            self._missing("set", error)

    def delete(self, key, version=None):
        try:
            return super().delete(key, version)
        except UNAVAILABLE as error:
            self._missing("delete", error)
            return False

    def get_or_set(self, key, default, *args, **kwargs):
        try:
            return super().get_or_set(key, default, *args, **kwargs)
        except UNAVAILABLE as error:
            self._missing("get_or_set", error)
            return default() if callable(default) else default
