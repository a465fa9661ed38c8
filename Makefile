# collectsim: `make run` runs the headline study, `make test` the test suite.
# Both create .venv and install the project when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run test test-slow lint bench clean browser app docs-config

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/collectsim experiment=soft_vs_escalation
	@echo
	@echo "Report: experiments/soft_vs_escalation/report.md (the sweep's raw results are under multirun/soft_vs_escalation/)"

test: $(STAMP)
	$(BIN)/python -m pytest -q

# Headless Chromium for the page's browser test (tests/test_app_browser.py, skipped
# without it): Debian's package, driven by Playwright; no browser is downloaded.
browser:
	@if [ -x /usr/bin/chromium ]; then echo "chromium: $$(/usr/bin/chromium --version 2>/dev/null)"; \
	else apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi

# The interactive page: http://localhost:8501
app: $(STAMP)
	$(BIN)/collectsim app

# Regenerate docs/configuration.md from the config schemas (a test checks it is current).
docs-config: $(STAMP)
	$(BIN)/python scripts/config_reference.py

# The slow checks also cover the Ray and Slurm (submitit) launchers: install those extras.
test-slow: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,tune,sensitivity,slurm,ray]'
	$(BIN)/python -m pytest -q -m slow

bench: $(STAMP)
	$(BIN)/python benchmarks/bench.py

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache .mypy_cache .ruff_cache
