# Two entry points: `make demo` (set up and run the sample) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed

.PHONY: test demo lint typecheck install clean bench bench-export browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check ownfeed tests benchmarks
	$(BIN)/ruff format --check ownfeed tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/pytest

# CI runs the browser test (tests/export/test_browser.py) for real: install chromium first.
ifdef CI
test: browser
endif

# Debian's chromium for the browser test, installed with apt-get when it is missing (as root
# or with passwordless sudo); without it the test is skipped locally and fails in CI.
browser:
	@if command -v chromium >/dev/null 2>&1; then \
		echo "browser: $$(command -v chromium) is installed"; \
	else \
		if [ "$$(id -u)" = 0 ]; then SUDO=; \
		elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO=sudo; \
		else \
			echo "browser: chromium is missing and installing it needs root;" \
				"run: sudo apt-get install chromium" >&2; \
			exit 1; \
		fi; \
		echo "browser: installing Debian's chromium: $$SUDO apt-get update && $$SUDO apt-get install -y chromium"; \
		$$SUDO apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null && \
		echo "browser: installed $$(command -v chromium)"; \
	fi

demo: $(STAMP)
	$(BIN)/ownfeed demo demo-output

bench: $(STAMP)
	$(BIN)/python benchmarks/sync_speed.py

bench-export: $(STAMP)
	$(BIN)/python benchmarks/export_speed.py

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache
