"""Deputies' online ratings (given on the dashboard's /my page, kept in the app state) as an
evaluation source: before a refresh the edge writes them into one evaluation sheet,
``代表在线测评.csv``, and archives it as a trusted source's file. The refresh then loads it like the
congress's own 满意度测评 file — it outranks what a unit reports (docs/indicators.md, Evaluation) —
and the rows' lineage names it (files.original_name, the archive's source 代表在线测评).

Every rating is written, oldest first, each dated the day it was given: the newest of a
(suggestion, unit) counts. Unchanged ratings give the same bytes, which the archive receives once.
"""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from etl.archive import Archive, ArchivedFile

ORIGIN = "代表在线测评"
FILE_NAME = f"{ORIGIN}.csv"
# 答复满意度 is the evaluation the figures count; 落实满意度 the congress's second rating.
COLUMNS = ("届次", "建议编号", "承办单位", "答复满意度", "落实满意度", "办理工作满意度", "测评日期", "测评代表")


def ratings_sheet(ratings: list[dict]) -> bytes:
    """The evaluation sheet of ``ratings`` (duban.core.appstate.online_ratings rows), as CSV bytes."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for r in ratings:
        session, _, number = r["suggestion_id"].rpartition("-")
        other = {r["other_aspect"]: r["other_rating"]}
        writer.writerow((session, number, r["unit"], r["reply_rating"], other.get("落实", ""),
                         other.get("办理工作", ""), r["rated_at"].date().isoformat(), r["deputy"]))
    return out.getvalue().encode("utf-8-sig")


def receive_online_ratings(archive: Archive, ratings: list[dict]) -> ArchivedFile | None:
    """Archive the ratings' sheet as a trusted source's file (None when there are no ratings);
    the next refresh loads it."""
    if not ratings:
        return None
    archive.root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=archive.root, prefix=".ratings-") as folder:
        path = Path(folder) / FILE_NAME
        path.write_bytes(ratings_sheet(ratings))
        entry, _ = archive.receive(path, Path(folder), trusted=True, origin=ORIGIN)
    return entry
