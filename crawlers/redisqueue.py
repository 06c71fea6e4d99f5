"""The Redis side of a distributed crawl: key names, connecting, the item queue, membership.

A distributed crawl keeps everything in one Redis database (use /1, /2 … for separate
crawls on one server):

  teaserfeed:requests          shared frontier (scrapy-redis priority queue)
  teaserfeed:dupefilter        request fingerprints of the current generation
  teaserfeed:items             items and control messages, workers → ingest (a list)
  teaserfeed:items:processing  what the ingest took but has not committed yet
  teaserfeed:items:failed      messages the ingest could not decode (kept for a look)
  teaserfeed:workers           live workers, scored by when they count as gone
  teaserfeed:crawl             the generation: gen, ended, lost (a hash)
  teaserfeed:stats:GEN         each worker's final stats of generation GEN
  teaserfeed:known             URL keys of archived articles (kept by the ingest)
  teaserfeed:runs              which archive run records which generation
  teaserfeed:ingest            the lease of the one ingest process

A *generation* is one crawl across all workers. The first worker to join when no
worker is alive and the frontier is empty opens a new one: it clears the dupefilter,
so listing pages are fetched again, while a worker joining a running generation shares
its dupefilter (its own start requests are dropped as duplicates). A generation ends
when its last worker leaves with the frontier empty, or when the ingest finds no live
worker and an empty frontier; an "end" message then follows its items in the queue.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis

from crawlers import redisjson
from crawlers.errors import TeaserfeedError

__all__ = [
    "ItemQueue",
    "RedisKeys",
    "RedisUnavailableError",
    "SharedCrawl",
    "connect",
    "redact",
    "worker_id",
]

# LMOVE/BLMOVE and SMISMEMBER
_MIN_VERSION = (6, 2)
_WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"

# Server time, so workers on machines with skewed clocks agree on who is gone.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""
# Forget workers whose heartbeat ran out; they count as lost to the generation.
_PRUNE = """
local gone = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if gone > 0 then redis.call('HINCRBY', KEYS[4], 'lost', gone) end
local gen = tonumber(redis.call('HGET', KEYS[4], 'gen') or '0')
"""
_END_MESSAGE = """
local function end_message(g)
  local lost = tonumber(redis.call('HGET', KEYS[4], 'lost') or '0')
  redis.call('LPUSH', KEYS[5], '{"type":"end","gen":' .. g .. ',"lost":' .. lost .. '}')
end
"""
_END_IF_DONE = """
if gen > 0 and redis.call('HGET', KEYS[4], 'ended') ~= '1'
   and redis.call('ZCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0 then
  redis.call('HSET', KEYS[4], 'ended', '1')
  end_message(gen)
  return gen
end
return 0
"""
# KEYS: workers, requests, dupefilter, crawl, items; ARGV: worker, ttl, hello JSON minus "{"
_JOIN = (
    _NOW
    + _END_MESSAGE
    + _PRUNE
    + """
local opened = 0
if redis.call('ZCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0 then
  if gen > 0 and redis.call('HGET', KEYS[4], 'ended') ~= '1' then end_message(gen) end
  redis.call('DEL', KEYS[3])
  gen = gen + 1
  redis.call('HSET', KEYS[4], 'gen', gen, 'ended', '0', 'lost', '0')
  opened = 1
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('LPUSH', KEYS[5], '{"type":"hello","gen":' .. gen .. ',"opened":'
  .. (opened == 1 and 'true' or 'false') .. ',' .. ARGV[3])
return {gen, opened}
"""
)
# KEYS: workers; ARGV: worker, ttl
_BEAT = (
    _NOW
    + """
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1
"""
)
# KEYS: workers, requests, dupefilter, crawl, items, stats of the worker's generation
# ARGV: worker, final stats (JSON)
_LEAVE = (
    _NOW
    + _END_MESSAGE
    + """
redis.call('HSET', KEYS[6], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[6], 604800)
redis.call('ZREM', KEYS[1], ARGV[1])
"""
    + _PRUNE
    + _END_IF_DONE
)
_END = _NOW + _END_MESSAGE + _PRUNE + _END_IF_DONE
# KEYS: items, processing; ARGV: how many; the oldest first
_CLAIM = """
local out = {}
for i = 1, tonumber(ARGV[1]) do
  local v = redis.call('LMOVE', KEYS[1], KEYS[2], 'RIGHT', 'LEFT')
  if not v then break end
  out[#out + 1] = v
end
return out
"""


class RedisUnavailableError(TeaserfeedError):
    """A Redis URL that is malformed, unreachable or names a server too old."""


def redact(url: str) -> str:
    """The URL with its password (if any) replaced by ***, for messages and logs."""
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rpartition("@")[2]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
    except ValueError:
        return url


def connect(url: str, *, timeout: float = 5.0) -> redis.Redis:
    """A client for `url`, checked with PING; RedisUnavailableError says what to do."""
    shown = redact(url)
    example = "redis://HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0"
    if urlsplit(url).scheme not in ("redis", "rediss", "unix"):
        raise RedisUnavailableError(f"{shown!r} is not a Redis URL; write {example}")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=60)
    except ValueError as exc:
        raise RedisUnavailableError(
            f"{shown!r} is not a usable Redis URL ({exc}); write {example}"
        ) from None
    try:
        client.ping()
        info = client.info("server")
    except redis.AuthenticationError as exc:
        raise RedisUnavailableError(
            f"Redis at {shown} refused the login ({exc}); put the password in the URL: "
            "redis://:PASSWORD@HOST:PORT/DB"
        ) from None
    except (redis.RedisError, OSError) as exc:
        raise RedisUnavailableError(
            f"cannot reach Redis at {shown} ({str(exc).rstrip('.')}); start redis-server "
            f"there, or give the right address: {example}"
        ) from None
    version = tuple(int(p) for p in str(info.get("redis_version", "0")).split(".")[:2])
    if version < _MIN_VERSION:
        raise RedisUnavailableError(
            f"Redis at {shown} is version {info.get('redis_version')}; "
            "teaserfeed needs 6.2 or newer (LMOVE, SMISMEMBER)"
        )
    return client


def worker_id() -> str:
    """This process's name among the workers: host, PID and a random tag."""
    return _WORKER_ID


@dataclass(frozen=True)
class RedisKeys:
    """The names of a distributed crawl's keys (see the module docstring)."""

    prefix: str = "teaserfeed"

    @property
    def requests(self) -> str:
        """The shared frontier."""
        return f"{self.prefix}:requests"

    @property
    def dupefilter(self) -> str:
        """Fingerprints of requests made in the current generation."""
        return f"{self.prefix}:dupefilter"

    @property
    def items(self) -> str:
        """Messages from workers waiting for the ingest."""
        return f"{self.prefix}:items"

    @property
    def processing(self) -> str:
        """Messages the ingest has taken but not committed."""
        return f"{self.prefix}:items:processing"

    @property
    def failed(self) -> str:
        """Messages the ingest could not read."""
        return f"{self.prefix}:items:failed"

    @property
    def workers(self) -> str:
        """Live workers scored by the server time when they count as gone."""
        return f"{self.prefix}:workers"

    @property
    def crawl(self) -> str:
        """The generation's state."""
        return f"{self.prefix}:crawl"

    def stats(self, gen: int) -> str:
        """Final stats of each worker of generation `gen`."""
        return f"{self.prefix}:stats:{gen}"

    @property
    def known(self) -> str:
        """URL keys of archived articles."""
        return f"{self.prefix}:known"

    @property
    def runs(self) -> str:
        """Archive run ids by archive and generation."""
        return f"{self.prefix}:runs"

    @property
    def ingest(self) -> str:
        """The ingest's lease."""
        return f"{self.prefix}:ingest"


class ItemQueue:
    """The list workers push messages to and the one ingest drains, without losing any.

    The ingest moves messages to a processing list (LMOVE) and removes them only after
    the archive committed them, so an ingest killed at any point finds them again.
    """

    def __init__(self, client: redis.Redis, keys: RedisKeys | None = None) -> None:
        self.client = client
        self.keys = keys or RedisKeys()
        self._claim = client.register_script(_CLAIM)

    def push(self, message: Mapping[str, Any]) -> None:
        """Queue one message (JSON; bytes as base64)."""
        self.client.lpush(self.keys.items, redisjson.dumps(message))

    def __len__(self) -> int:
        return int(self.client.llen(self.keys.items))

    def claimed(self) -> list[bytes]:
        """Messages taken by an earlier ingest and never acknowledged, oldest first."""
        return list(reversed(cast(list[bytes], self.client.lrange(self.keys.processing, 0, -1))))

    def claim(self, limit: int, timeout: float = 0.0) -> list[bytes]:
        """Take up to `limit` messages, oldest first, waiting up to `timeout` s for one."""
        keys = [self.keys.items, self.keys.processing]
        taken = cast(list[bytes], self._claim(keys=keys, args=[limit]))
        if taken or timeout <= 0:
            return taken
        # BLMOVE takes fractions of a second (redis-py types it as int)
        wait = cast(int, max(0.01, timeout))
        first = self.client.blmove(keys[0], keys[1], wait, "RIGHT", "LEFT")
        if first is None:
            return []
        rest = cast(list[bytes], self._claim(keys=keys, args=[limit - 1])) if limit > 1 else []
        return [cast(bytes, first), *rest]

    def ack(self, count: int) -> None:
        """Drop the `count` oldest claimed messages: the archive has them."""
        if count > 0:
            self.client.ltrim(self.keys.processing, 0, -count - 1)

    def reject(self, raw: bytes) -> None:
        """Keep an unreadable message aside (teaserfeed:items:failed) for inspection."""
        self.client.lpush(self.keys.failed, raw)


class SharedCrawl:
    """One crawl shared by workers: its generation, who is in it and when it ends."""

    def __init__(self, client: redis.Redis, keys: RedisKeys | None = None) -> None:
        self.client = client
        self.keys = keys or RedisKeys()
        self._join = client.register_script(_JOIN)
        self._beat = client.register_script(_BEAT)
        self._leave = client.register_script(_LEAVE)
        self._end = client.register_script(_END)

    def _keys(self) -> list[str]:
        k = self.keys
        return [k.workers, k.requests, k.dupefilter, k.crawl, k.items]

    def join(self, worker: str, ttl: float, hello: Mapping[str, Any]) -> tuple[int, bool]:
        """Enter the running generation or open a new one; (generation, opened it).

        Queues a "hello" message carrying `hello` (worker, sites, sources) for the ingest.
        """
        body = redisjson.dumps({"worker": worker, **hello}).decode("utf-8")
        gen, opened = cast(list[int], self._join(keys=self._keys(), args=[worker, ttl, body[1:]]))
        return int(gen), bool(opened)

    def beat(self, worker: str, ttl: float) -> None:
        """Tell the others this worker is alive for another `ttl` seconds."""
        self._beat(keys=[self.keys.workers], args=[worker, ttl])

    def leave(self, worker: str, gen: int, final: Mapping[str, Any]) -> int:
        """Leave with final stats; the generation ended by leaving, or 0."""
        keys = [*self._keys(), self.keys.stats(gen)]
        body = json.dumps(final, default=str, ensure_ascii=False)
        return int(cast(int, self._leave(keys=keys, args=[worker, body])))

    def end_if_done(self) -> int:
        """End the generation if no worker is alive and the frontier is empty; it, or 0."""
        return int(cast(int, self._end(keys=self._keys(), args=[])))

    def frontier(self) -> int:
        """Requests waiting in the shared frontier."""
        return int(self.client.zcard(self.keys.requests))

    def status(self) -> dict[str, Any]:
        """The generation, whether it ended, live workers, frontier and queue sizes."""
        state = {
            k.decode(): v.decode()
            for k, v in cast(dict[bytes, bytes], self.client.hgetall(self.keys.crawl)).items()
        }
        return {
            "generation": int(state.get("gen", 0)),
            "ended": state.get("ended") == "1",
            "workers": [
                w.decode() for w in cast(list[bytes], self.client.zrange(self.keys.workers, 0, -1))
            ],
            "frontier": self.frontier(),
            "items": int(self.client.llen(self.keys.items)),
            "processing": int(self.client.llen(self.keys.processing)),
        }

    def worker_stats(self, gen: int) -> dict[str, dict[str, Any]]:
        """The final stats each worker of generation `gen` left."""
        raw = cast(dict[bytes, bytes], self.client.hgetall(self.keys.stats(gen)))
        result: dict[str, dict[str, Any]] = {}
        for worker, body in raw.items():
            try:
                value = json.loads(body)
            except ValueError:
                continue
            if isinstance(value, dict):
                result[worker.decode()] = value
        return result
