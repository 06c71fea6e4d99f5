"""The distributed mode: scrapy-redis components, the Redis queue, its codec and ingest.

The components keep their dotted paths (`crawlers.distributed.ResilientScheduler`, …) for
settings that name them; `crawlers.redisjson` remains as an alias of the codec.
"""

from crawlers.distributed.components import (
    KnownArticlesMiddleware,
    RedisItemPipeline,
    RedisWorker,
    ResilientScheduler,
    apply_worker_settings,
    forget_requests,
)

__all__ = [
    "KnownArticlesMiddleware",
    "RedisItemPipeline",
    "RedisWorker",
    "ResilientScheduler",
    "apply_worker_settings",
    "forget_requests",
]
