"""The Redis side of a distributed crawl: key names, connecting, the item queue, membership.

A distributed crawl keeps everything in one Redis database (use /1, /2 … for separate
crawls on one server):

  teaserfeed:requests          shared frontier (scrapy-redis priority queue)
  teaserfeed:dupefilter        request fingerprints of the current generation
  teaserfeed:items             items and control messages, workers → ingest (a list)
  teaserfeed:items:processing  what the ingest took but has not committed yet
  teaserfeed:items:failed      messages the ingest could not decode (kept for a look)
  teaserfeed:workers           live workers, scored by when they count as gone
  teaserfeed:crawl             the generation: gen, token, ended, lost, floor (the
                               archive's newest generation), clock (a hash)
  teaserfeed:stats:GEN         each worker's final stats of generation GEN
  teaserfeed:known             URL keys of archived articles (kept by the ingest)
  teaserfeed:ingest            the lease of the one ingest process (host:pid:tag:ingest)

A *generation* is one crawl across all workers. The first worker to join when no
worker is alive and the frontier is empty (or when the generation ended) opens a new
one: it clears the dupefilter, so listing pages are fetched again, while a worker
joining a running generation shares its dupefilter (its own start requests are dropped
as duplicates). A generation ends when its last worker leaves with the frontier empty,
or when the ingest finds no live worker and an empty frontier; an "end" message then
follows its items in the queue. Each generation has a random token besides its number;
every message carries both, so the ingest can tell a generation replayed from an older
snapshot from the current one (crawlers.distributed.ingest), and the ingest's floor keeps numbers
growing past the archive's newest whatever Redis lost.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import redis

from crawlers import redisjson
from crawlers.errors import TeaserfeedError

__all__ = [
    "OUTAGE_ERRORS",
    "ItemQueue",
    "Outage",
    "RedisKeys",
    "RedisUnavailableError",
    "SharedCrawl",
    "connect",
    "redact",
    "worker_id",
]

logger = logging.getLogger(__name__)

# What a Redis that is away (stopped, restarting, loading its data, unreachable) raises;
# BusyLoadingError is a ConnectionError.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (redis.ConnectionError, redis.TimeoutError)
# LMOVE/BLMOVE and SMISMEMBER
_MIN_VERSION = (6, 2)
_WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"

# Server time, so workers on machines with skewed clocks agree on who is gone. Heartbeats
# count only while Redis runs: after a restart the workers' deadlines move on by the time
# the server was down (since the crawl's last script call), so an outage shorter than the
# heartbeat TTL loses nobody, and workers replayed from an old snapshot keep only the time
# they had left then. KEYS[1] is always the workers, CLOCK the crawl hash.
_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local function catch_up(clock)
  local info = redis.call('INFO', 'server')
  local booted = now - tonumber(string.match(info, 'uptime_in_seconds:(%d+)') or '0')
  local last = tonumber(redis.call('HGET', clock, 'clock') or '0')
  if last > 0 and booted > last + 1 then
    local gap = booted - last
    for _, w in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
      redis.call('ZINCRBY', KEYS[1], gap, w)
    end
  end
  redis.call('HSET', clock, 'clock', tostring(now))
end
"""
# Forget workers whose heartbeat ran out; they count as lost to the generation.
_PRUNE = """
catch_up(KEYS[4])
local gone = redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if gone > 0 then redis.call('HINCRBY', KEYS[4], 'lost', gone) end
local gen = tonumber(redis.call('HGET', KEYS[4], 'gen') or '0')
"""
_END_MESSAGE = """
local function end_message(g)
  local lost = tonumber(redis.call('HGET', KEYS[4], 'lost') or '0')
  local token = redis.call('HGET', KEYS[4], 'token') or ''
  redis.call('LPUSH', KEYS[5], '{"type":"end","gen":' .. g .. ',"token":"' .. token
    .. '","lost":' .. lost .. '}')
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
# KEYS: workers, requests, dupefilter, crawl, items
# ARGV: worker, ttl, hello JSON minus "{", a new generation's token
# A generation ended (or marked stale by the ingest) is never joined again; a new one is
# numbered past the ingest's floor (the archive's newest generation), whatever Redis lost.
_JOIN = (
    _NOW
    + _END_MESSAGE
    + _PRUNE
    + """
local opened = 0
local ended = redis.call('HGET', KEYS[4], 'ended') == '1'
if ended or gen == 0
   or (redis.call('ZCARD', KEYS[1]) == 0 and redis.call('ZCARD', KEYS[2]) == 0) then
  if gen > 0 and not ended then end_message(gen) end
  -- whoever is still listed belongs to the ended generation (a replayed snapshot's
  -- workers, say): not to be counted as lost by the new one
  redis.call('DEL', KEYS[3], KEYS[1])
  local floor = tonumber(redis.call('HGET', KEYS[4], 'floor') or '0')
  gen = math.max(gen, floor) + 1
  redis.call('HSET', KEYS[4], 'gen', gen, 'ended', '0', 'lost', '0', 'token', ARGV[4])
  opened = 1
end
local token = redis.call('HGET', KEYS[4], 'token') or ''
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('LPUSH', KEYS[5], '{"type":"hello","gen":' .. gen .. ',"token":"' .. token
  .. '","opened":' .. (opened == 1 and 'true' or 'false') .. ',' .. ARGV[3])
return {gen, opened, token}
"""
)
# KEYS: workers, crawl; ARGV: worker, ttl
_BEAT = (
    _NOW
    + """
catch_up(KEYS[2])
return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
"""
)
# KEYS: crawl; ARGV: the archive's newest generation, tokens of generations it finished
# Raises the floor; a current generation the archive finished or outnumbered (Redis came
# back from an older snapshot) is marked ended, so no worker joins it again.
_ALIGN = """
local floor = tonumber(ARGV[1])
if floor > tonumber(redis.call('HGET', KEYS[1], 'floor') or '0') then
  redis.call('HSET', KEYS[1], 'floor', floor)
end
local gen = tonumber(redis.call('HGET', KEYS[1], 'gen') or '0')
local token = redis.call('HGET', KEYS[1], 'token') or ''
if gen == 0 or redis.call('HGET', KEYS[1], 'ended') == '1' then return 0 end
local stale = gen < floor
for i = 2, #ARGV do if ARGV[i] == token then stale = true end end
if stale then
  redis.call('HSET', KEYS[1], 'ended', '1')
  return gen
end
return 0
"""
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

    def push_many(self, messages: Sequence[Mapping[str, Any]]) -> None:
        """Queue several messages in this order, in one command."""
        if messages:
            self.client.lpush(self.keys.items, *(redisjson.dumps(m) for m in messages))

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

    def ack_stored(self, raws: Sequence[bytes]) -> bool:
        """Drop these messages if they are still the oldest claimed ones; whether they were.

        Safe to repeat (after an ack whose answer was lost, say): it never drops others.
        """
        count = len(raws)
        if not count:
            return False
        oldest = cast(list[bytes], self.client.lrange(self.keys.processing, -count, -1))
        if list(reversed(oldest)) != list(raws):
            return False
        self.ack(count)
        return True

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
        self._align = client.register_script(_ALIGN)

    def _keys(self) -> list[str]:
        k = self.keys
        return [k.workers, k.requests, k.dupefilter, k.crawl, k.items]

    def join(self, worker: str, ttl: float, hello: Mapping[str, Any]) -> tuple[int, bool, str]:
        """Enter the running generation or open a new one; (generation, opened it, token).

        Queues a "hello" message carrying `hello` (worker, sites, sources) for the ingest.
        The token tells this generation apart from any other of the same number (Redis
        may lose its counter); every message of the generation carries it.
        """
        body = redisjson.dumps({"worker": worker, **hello}).decode("utf-8")
        args: list[str | float] = [worker, ttl, body[1:], secrets.token_hex(8)]
        gen, opened, token = cast(list[Any], self._join(keys=self._keys(), args=args))
        return int(gen), bool(opened), _text(token)

    def beat(self, worker: str, ttl: float) -> bool:
        """Tell the others this worker is alive for another `ttl` seconds.

        True when it had been counted as gone (its heartbeat ran out) and is back.
        """
        added = self._beat(keys=[self.keys.workers, self.keys.crawl], args=[worker, ttl])
        return bool(added)

    def align(self, newest: int, finished: Iterable[str]) -> int:
        """Keep generation numbers past the archive's `newest`; end a stale current one.

        The current generation is stale when the archive finished it (its token is in
        `finished`) or numbers past it: Redis came back from an older snapshot. Returns
        the generation marked ended, or 0.
        """
        token = _text(self.client.hget(self.keys.crawl, "token") or b"")
        args: list[str | int] = [newest]
        if token and token in set(finished):
            args.append(token)
        return int(cast(int, self._align(keys=[self.keys.crawl], args=args)))

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
        """The generation (number, token), whether it ended, workers, frontier, queue sizes."""
        state = {
            k.decode(): v.decode()
            for k, v in cast(dict[bytes, bytes], self.client.hgetall(self.keys.crawl)).items()
        }
        return {
            "generation": int(state.get("gen", 0)),
            "token": state.get("token", ""),
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


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Outage:
    """One process's view of Redis being away: back-off, one warning per outage, a bound.

    `failed()` after an OUTAGE_ERRORS error, `ok()` after a command went through;
    `due()` says whether the back-off (0.5 s doubling to 10 s) allows another try and
    `expired()` whether Redis has been away for longer than `retry_for` seconds.
    """

    FIRST_DELAY = 0.5
    MAX_DELAY = 10.0

    def __init__(self, url: str, retry_for: float, what: str) -> None:
        self.url = redact(url)
        self.retry_for = retry_for
        self.what = what
        self.since: float | None = None
        self.outages = 0
        self._delay = self.FIRST_DELAY
        self._next = 0.0

    @property
    def down(self) -> bool:
        """Whether Redis is away now (the last command failed)."""
        return self.since is not None

    def failed(self, exc: BaseException) -> None:
        """A command failed because Redis is away: start (or continue) the outage."""
        now = time.monotonic()
        if self.since is None:
            self.since = now
            self.outages += 1
            self._delay = self.FIRST_DELAY
            logger.warning(
                "Redis at %s is away (%s); %s, retrying for up to %.0f s",
                self.url, str(exc).rstrip("."), self.what, self.retry_for,
            )  # fmt: skip
        else:
            self._delay = min(self._delay * 2, self.MAX_DELAY)
        self._next = now + self._delay

    def ok(self, detail: str = "") -> None:
        """A command went through: end the outage (logged once, with `detail`)."""
        if self.since is not None:
            logger.warning("Redis at %s is back after %.1f s%s", self.url, self.away(), detail)
            self.since = None

    def due(self) -> bool:
        """Whether to try Redis now: it is up, or the back-off has passed."""
        return self.since is None or time.monotonic() >= self._next

    def delay(self) -> float:
        """Seconds until the next try is due."""
        return max(0.0, self._next - time.monotonic()) if self.since is not None else 0.0

    def away(self) -> float:
        """Seconds Redis has been away (0 when up)."""
        return 0.0 if self.since is None else time.monotonic() - self.since

    def expired(self) -> bool:
        """Whether Redis has been away for longer than the bound."""
        return self.since is not None and self.away() > self.retry_for
