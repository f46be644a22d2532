"""`duban bench` at a tiny size: every in-process step runs and reports; no timing assertions
(the real figures are in docs/benchmark.md)."""

from __future__ import annotations

import json

from duban.bench import DashRequests, _split_outputs, format_table, percentile, run_bench


def test_percentile_is_nearest_rank():
    # 10 values 1..10: p50 is the 5th, p95 the 10th (ceil(9.5)), p10 the 1st
    values = [7, 1, 9, 3, 5, 2, 10, 4, 8, 6]
    assert (percentile(values, 50), percentile(values, 95), percentile(values, 10)) == (5, 10, 1)
    assert percentile([], 50) is None


def test_request_bodies_follow_the_callback_outputs():
    assert _split_outputs("page.children") == [{"id": "page", "property": "children"}]
    assert _split_outputs("url.search@abc") == [{"id": "url", "property": "search"}]
    assert _split_outputs('..a.b...{"index":["ALL"],"type":"p"}.style..') == [
        {"id": "a", "property": "b"}, {"id": {"index": ["ALL"], "type": "p"}, "property": "style"}]
    reqs = DashRequests([{"output": "page.children", "inputs": [{"id": "url", "property": "pathname"},
                                                                  {"id": "url", "property": "search"}], "state": []}])
    body = reqs.route("/units", "?year=2024")
    assert body["outputs"] == {"id": "page", "property": "children"}
    assert [i["value"] for i in body["inputs"]] == ["/units", "?year=2024"]


def test_bench_runs_end_to_end_at_a_tiny_size(tmp_path):
    lines: list[str] = []
    out = run_bench(suggestions=30, years=2, units=10, as_json=True, workdir=tmp_path, log=lines.append,
                    sections=["etl", "read", "callbacks"], max_searches=1)
    assert out["assignments"] > 30 and out["etl"]["files"] > 10 and out["etl"]["incremental"]["files_new"] == 1
    assert set(out["read"]["formats"]) <= {"xlsx", "xls", "csv"} and out["read"]["speedup"] is not None
    cbs = out["callbacks"]["callbacks"]
    assert {"page /", "page /units", "page /overdue", "filters (年度)", "cross-filter (类别)", "file download-rejected"} <= set(cbs)
    assert all(v["warm_p95_ms"] > 0 and v["samples"] >= 1 for v in cbs.values())
    assert {"callback_p95_ms", "etl_read_speedup", "incremental_s"} <= set(out["budgets"])
    json.loads(lines[-1])  # --json prints one JSON document
    assert "预算 / budgets" in format_table(out)
