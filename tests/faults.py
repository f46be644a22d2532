"""Faults injected into a refresh through its hooks (never through the product's code): parsers
that fail the way hostile files make real readers fail, and a ``before_publish`` that stops,
fails or fills the disk. Module-level functions, so a spawned parse worker can import them."""

from __future__ import annotations

import errno
import os
import signal
import time
from datetime import datetime
from pathlib import Path

import polars as pl
from polars.exceptions import PanicException

from duban.core.settings import Settings
from etl.parse import parse_file

BEFORE_PUBLISH_ENV = "DUBAN_FAULT_BEFORE_PUBLISH"


def parse_or_fault(path: Path, original_name: str, settings: Settings, file_mtime: datetime | None = None):
    """``parse_file``, except for a file whose name says how its reader breaks."""
    if "panic" in original_name:  # as calamine on zip headers that lie about their sizes
        raise PanicException("byte array offset overflow")
    if "huge" in original_name:  # a Rust allocation beyond the memory cap: the process aborts
        pl.Series([0], dtype=pl.Int64).extend_constant(0, settings.parse_memory_mb << 18).sum()
    if "memory" in original_name:  # a Python allocation beyond the memory cap: MemoryError
        bytearray(settings.parse_memory_mb << 21)
    if "segfault" in original_name:
        os.kill(os.getpid(), signal.SIGSEGV)
    if "hang" in original_name:
        time.sleep(3600)
    return parse_file(path, original_name, settings, file_mtime)


def before_publish_from_env() -> None:
    """For a refresh run as ``duban etl run`` in a subprocess (tests/refresh_fault_cli.py)."""
    fault = os.environ.get(BEFORE_PUBLISH_ENV)
    if fault == "pause":
        time.sleep(60)
    elif fault == "fail":
        raise RuntimeError("测试: 在发布前故意中止")
    elif fault == "disk-full":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
