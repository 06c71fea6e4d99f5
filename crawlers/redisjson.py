"""Old dotted path of the Redis codec (SCHEDULER_SERIALIZER = "crawlers.redisjson")."""

from crawlers.distributed.codec import dumps, loads

__all__ = ["dumps", "loads"]
