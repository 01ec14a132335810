"""Frames kept between dashboard callbacks, each under the stamp of the data it was built from.

A page keeps an expensive frame (a panel read from many rows) in a ``TTLCache`` of its own on the
app (``app.extensions[name]``), shared by the app's threads. A kept frame is used only while the
stamp it was built under — a cheap fingerprint of what it depends on, read on every call — is
unchanged; the time limit bounds what a stamp cannot see, the byte limit the memory.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Hashable
from typing import Any

import pandas as pd
from cachetools import TTLCache
from flask import current_app


def frame_bytes(entry: tuple[Hashable, Any]) -> int:
    """Memory a cache entry ``(stamp, value)`` holds: its frame's, or a nominal byte."""
    value = entry[1]
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(deep=True).sum()) + 1
    nbytes = getattr(value, "nbytes", None)
    return int(nbytes) + 1 if nbytes is not None else 1


def stamped(name: str, key: Hashable, stamp: Hashable, compute: Callable[[], Any], *,
            seconds: int, max_bytes: int, size_of: Callable[[tuple], int] = frame_bytes) -> Any:
    """The value kept under ``key`` in the app's cache ``name`` if it was built under ``stamp``,
    else ``compute()``, kept in its place (``seconds`` at most, ``max_bytes`` for the whole
    cache). A value larger than the whole budget is used once and not kept."""
    cache, lock = current_app.extensions.setdefault(
        name, (TTLCache(maxsize=max_bytes, ttl=seconds, getsizeof=size_of), threading.Lock()))
    with lock:
        hit = cache.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    value = compute()
    with lock, contextlib.suppress(ValueError):  # cachetools: "value too large"
        cache[key] = (stamp, value)
    return value
