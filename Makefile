# Two commands for a newcomer on a machine with only python3 and pip:
#   make run   - install into .venv, migrate, serve on SQLite at http://127.0.0.1:8000
#   make test  - install the dev tools, then ruff, mypy and the whole test suite
# uv is bootstrapped into .tools/ with pip when it is not on PATH.

PYTHON ?= python3
UV := $(or $(shell command -v uv 2>/dev/null),$(CURDIR)/.tools/bin/uv)
VENV_BIN := $(CURDIR)/.venv/bin

.PHONY: run test lint format install install-dev bench audit clean

$(CURDIR)/.tools/bin/uv:
	$(PYTHON) -m venv $(CURDIR)/.tools
	$(CURDIR)/.tools/bin/python -m pip install --quiet --disable-pip-version-check uv

install: $(UV)
	$(UV) sync --frozen --no-dev

install-dev: $(UV)
	$(UV) sync --frozen

run: install
	$(VENV_BIN)/gatehouse db upgrade
	$(VENV_BIN)/gatehouse serve --host 127.0.0.1 --port 8000

lint: install-dev
	$(VENV_BIN)/ruff check src clients examples tests migrations bench scripts
	$(VENV_BIN)/ruff format --check src clients examples tests migrations bench scripts
	$(VENV_BIN)/mypy

test: lint
	$(VENV_BIN)/pytest --cov -n 2 --dist worksteal

# pip-audit over uv.lock with PyPI's advisory data (else OSV's): fails on a known
# vulnerability; says "NOT AUDITED" (and does not fail) when no advisory data is reachable.
audit: install-dev
	$(VENV_BIN)/python .ci/audit.py $(UV)

format: install-dev
	$(VENV_BIN)/ruff check --fix src clients examples tests migrations bench scripts
	$(VENV_BIN)/ruff format src clients examples tests migrations bench scripts

# Issue 13's measurements, each printing ours beside a baseline of the same run:
# /users/me, login, chat and workers (auth.py), a task page at 100k tasks (tasks.py, on
# PostgreSQL), start-up and memory (startup.py).
bench: install-dev
	$(VENV_BIN)/python bench/auth.py $(BENCH_ARGS)
	$(VENV_BIN)/python bench/tasks.py
	$(VENV_BIN)/python bench/startup.py

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache .coverage .coverage.*
