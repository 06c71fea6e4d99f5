"""JSON for what workers put in Redis (requests, items): bytes kept safely, no pickle.

`dumps`/`loads` at module level make this module usable as scrapy-redis'
`SCHEDULER_SERIALIZER`. Bytes become `{"$b": base64}` (`{"$z": base64(zlib)}` when
long, e.g. an article page's HTML); dicts whose keys are not all plain strings
(Scrapy's headers) become `{"$d": [[key, value], ...]}`. Tuples come back as lists.
Nothing in a message can make the reader run code, unlike pickle, scrapy-redis' default.
"""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any

__all__ = ["dumps", "loads"]

# Below this many bytes, compressing costs more than it saves.
_COMPRESS_FROM = 512
# zlib level 3: about as small as the default for a fraction of the time on HTML
_LEVEL = 3
_TAGS = ("$b", "$z", "$d")


def dumps(obj: Any) -> bytes:
    """The value as compact UTF-8 JSON; raises TypeError for values JSON cannot hold."""
    return json.dumps(_pack(obj), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def loads(data: bytes | str) -> Any:
    """The value `dumps` encoded; raises ValueError for data that is not such JSON."""
    return _unpack(json.loads(data))


def _pack(obj: Any) -> Any:
    if obj is None or isinstance(obj, (str, bool, int, float)):
        return obj
    if isinstance(obj, (bytes, bytearray, memoryview)):
        raw = bytes(obj)
        if len(raw) >= _COMPRESS_FROM:
            return {"$z": base64.b64encode(zlib.compress(raw, _LEVEL)).decode("ascii")}
        return {"$b": base64.b64encode(raw).decode("ascii")}
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("$") for k in obj):
            return {k: _pack(v) for k, v in obj.items()}
        return {"$d": [[_pack(k), _pack(v)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return [_pack(v) for v in obj]
    raise TypeError(f"cannot encode a {type(obj).__name__} for Redis: {obj!r:.80}")


def _unpack(obj: Any) -> Any:
    if isinstance(obj, list):
        return [_unpack(v) for v in obj]
    if not isinstance(obj, dict):
        return obj
    if len(obj) == 1:
        tag, value = next(iter(obj.items()))
        if tag in _TAGS:
            try:
                if tag == "$b":
                    return base64.b64decode(value, validate=True)
                if tag == "$z":
                    return zlib.decompress(base64.b64decode(value, validate=True))
                return {_hashable(_unpack(k)): _unpack(v) for k, v in value}
            except (TypeError, ValueError, zlib.error) as exc:
                raise ValueError(f"a malformed {tag} value: {exc}") from None
    return {k: _unpack(v) for k, v in obj.items()}


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key
