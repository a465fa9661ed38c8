# collectsim: `make run` runs the headline study, `make test` the test suite.
# Both create .venv and install the project when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: run publish test test-slow test-cluster lint bench clean browser app docs-config

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/collectsim experiment=soft_vs_escalation publish=true
	@echo
	@echo "Report: experiments/soft_vs_escalation/report.md (the sweep's raw results are under multirun/soft_vs_escalation/)"

# Rerun a study as defined and replace its committed report: make publish STUDY=staffing
publish: $(STAMP)
	@test -n "$(STUDY)" || { echo "usage: make publish STUDY=<name of a conf/experiment file>"; exit 2; }
	$(BIN)/collectsim experiment=$(STUDY) publish=true

# One worker per core; a test file stays on one worker, so its cached fixtures are built once.
# The compiled kernels are compiled (or loaded from Numba's cache) once, before the
# workers start; CLEAR_KERNEL_CACHE=1 (set by .ci/run) compiles them afresh.
test: $(STAMP)
	@if [ -n "$(CLEAR_KERNEL_CACHE)" ]; then find src/collectsim -name "*.nbi" -o -name "*.nbc" | xargs rm -f; fi
	$(BIN)/python -m collectsim.compiled_team
	$(BIN)/python -m pytest -q -n auto --dist loadfile

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
	$(BIN)/python -m pytest -q -n auto --dist loadfile -m slow

# Sweeps on a real Ray head and a single-node Slurm started on this machine (needs root:
# installs Debian's slurm-wlm, slurmdbd, munge and mariadb-server when missing). The
# tests start and stop every daemon themselves; see docs/scaling.md.
test-cluster: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,slurm,ray]'
	bash scripts/cluster/slurm.sh install
	$(BIN)/python -m pytest -q -m cluster tests/test_cluster.py

bench: $(STAMP)
	$(BIN)/python -m collectsim.compiled_team
	$(BIN)/python benchmarks/bench.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python scripts/module_sizes.py

clean:
	rm -rf $(VENV) outputs multirun .pytest_cache .mypy_cache .ruff_cache
