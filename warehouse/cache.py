"""The indicator layer's process-wide caches and its prefetch pool.

The state as of T lives in files shared by every process (warehouse.statefiles); results are
small and kept per process, keyed on the version (warehouse.indicators.Indicators._cached), so
a refresh never serves old figures.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

_LOCK = threading.Lock()
RESULTS: OrderedDict[tuple, Any] = OrderedDict()
RESULTS_MAX = 64  # the rendered pages are kept on disk (dashboard.page_cache); these only share work between views
# What a version says whatever the scope (filter lists, 同比 reference dates, refresh time, unit
# names): asked by every page, kept apart so that a burst of scope results never evicts them.
FACTS: OrderedDict[tuple, Any] = OrderedDict()
FACTS_MAX = 256
_MISSING = object()
# Independent results of one page computed side by side (Indicators.prefetch): DuckDB releases the
# GIL while it runs a query, so a page's queries overlap on a second core when one is free. Made on
# first use: importing the indicator layer starts no thread (a forking server imports it first).
_PREFETCH: list[ThreadPoolExecutor] = []


def prefetch_pool() -> ThreadPoolExecutor:
    with _LOCK:
        if not _PREFETCH:
            _PREFETCH.append(ThreadPoolExecutor(max_workers=4, thread_name_prefix="duban-prefetch"))
        return _PREFETCH[0]


def cached(key: tuple, compute: Callable[[], Any], fact: bool = False) -> Any:
    """compute() once per key (least recently used ones go); ``fact``: it does not depend on a
    scope (kept in FACTS). A copy the caller may change."""
    cache, limit = (FACTS, FACTS_MAX) if fact else (RESULTS, RESULTS_MAX)
    with _LOCK:
        hit = cache.get(key, _MISSING)  # None is a valid cached result: no such suggestion
        if hit is not _MISSING:
            cache.move_to_end(key)
    if hit is _MISSING:
        hit = compute()
        with _LOCK:
            cache[key] = hit
            cache.move_to_end(key)
            while len(cache) > limit:
                cache.popitem(last=False)
    return _copy(hit)


def clear(facts: bool = True) -> None:
    """Forget the results (and, unless ``facts`` is False, the facts) this process computed."""
    with _LOCK:
        RESULTS.clear()
        if facts:
            FACTS.clear()


def _copy(result):
    """A copy a caller may change without touching the cache (rows: one level deep, cheap)."""
    if isinstance(result, list):
        return [dict(r) if isinstance(r, dict) else r for r in result]
    if isinstance(result, dict):
        return {k: _copy(v) for k, v in result.items()}
    return result
