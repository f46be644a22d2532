"""The download buttons in Chromium: a click on /units/<unit> and on / saves the file (through the
layout's dcc.Download) under the expected name, and the file opens."""

from __future__ import annotations

import io
from pathlib import Path

import docx
import openpyxl
import pytest

from duban.core import appstate
from tests.browser.harness import BROWSER_MARKS, Q, wait_rendered

pytestmark = BROWSER_MARKS


@pytest.fixture
def site(sample_site, chromium):
    return sample_site[0], chromium, sample_site[1]


def click_download(site, path: str, button: str):
    base, chromium, _ = site
    page = chromium.new_page(locale="zh-CN", accept_downloads=True, viewport={"width": 1600, "height": 900})
    try:
        page.goto(base + path + Q)
        wait_rendered(page)
        with page.expect_download(timeout=30000) as info:
            page.click(f"#{button}")
        download = info.value
        return download.suggested_filename, Path(download.path()).read_bytes()
    finally:
        page.close()


def test_unit_page_buttons_download_the_unit_files(site):
    name, data = click_download(site, "/units/市交通局", "download-unit-assignments")
    assert name == "承办清单_市交通局_2024-06-30.xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(data)).worksheets[0]
    # 市交通局: leads nos. 3 and 4, co-handles no. 6
    assert sorted(r[1] for r in sheet.iter_rows(values_only=True) if isinstance(r[1], int)) == [3, 4, 6]
    name, data = click_download(site, "/units/市交通局", "download-template")
    assert name == "填报模板_市交通局_2024年.xlsx" and data[:2] == b"PK"
    actions = [e["action"] for e in appstate.audit_log(site[2])]
    assert "导出承办清单" in actions and "下载填报模板" in actions


def test_overview_button_downloads_the_report(site):
    name, data = click_download(site, "/", "download-report")
    assert name == "代表建议办理情况通报_2024年_2024-06-30.docx"
    whole = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert "办结率57.14%" in whole  # 4 of 7, as on the overview card
