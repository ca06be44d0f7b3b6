# ltp-lens developer tasks. `make test` builds .venv on first use (and again whenever the
# requirements or pyproject.toml change), then runs the test suite.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.stamp

.PHONY: venv test test-fast test-e2e run clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -r requirements-dev.txt
	$(BIN)/python -m pip install -e . --no-deps
	touch $(STAMP)

test: venv
	$(BIN)/python -m pytest -q

# without the real-backbone and browser tests
test-fast: venv
	$(BIN)/python -m pytest -q -m "not slow"

# the browser end-to-end test alone (needs Debian's chromium at /usr/bin/chromium)
test-e2e: venv
	$(BIN)/python -m pytest -q -m e2e

run: venv
	$(BIN)/streamlit run app/Home.py --server.headless true

# Removes the virtualenv and build/test by-products; prepared data (data/) and runs/ are kept.
clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache test-artifacts
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
