# Two commands: `make demo` and `make test`. Everything else is a helper of those two.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PORT ?= 8050

.PHONY: demo test install screenshots bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/duban demo --port $(PORT) --no-browser

test: $(STAMP)
	$(BIN)/ruff check
	$(BIN)/mypy
	$(BIN)/python -m pytest -q

screenshots: $(STAMP)
	$(BIN)/python -m tests.browser.screenshots screenshots

bench: $(STAMP)
	$(BIN)/duban bench

clean:
	rm -rf $(VENV) var build *.egg-info .pytest_cache
