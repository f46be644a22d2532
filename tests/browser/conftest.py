"""One dashboard (login off) on the hand-worked sample warehouse, shared by every browser test
module (the one Chromium is tests/conftest.py's ``chromium``)."""

from __future__ import annotations

import pytest

from tests.browser import sample
from tests.browser.harness import serving


@pytest.fixture(scope="session")
def sample_site(tmp_path_factory):
    """(base URL, DUBAN_HOME) of the served sample dashboard."""
    from dashboard.app import create_app

    tmp = tmp_path_factory.mktemp("browser")
    app = create_app(sample.build(tmp), home=tmp / "home", auth=False)
    with serving(app) as url:
        yield url, tmp / "home"


@pytest.fixture
def base(sample_site) -> str:
    return sample_site[0]
