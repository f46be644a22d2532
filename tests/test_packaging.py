"""Every file the app serves from assets/ goes into a built wheel (pyproject package-data): a
non-editable install once lacked the bundled Bootstrap (assets/vendor/) and the licence files."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_package_data_covers_every_asset():
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]["package-data"]["*"]
    assets = ROOT / "assets"
    missing = [str(p.relative_to(assets)) for p in assets.rglob("*")
               if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts
               and not any(fnmatch(str(p.relative_to(assets)), pattern) for pattern in patterns)]
    assert missing == []
