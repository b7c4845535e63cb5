# Two commands on a fresh machine: `make run` (the example job) and `make test` (the tests).
# Both create the virtual environment in .venv from requirements.lock on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run demo test axe-core lint clean-outputs

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $@

# The main job: the sample articles with the real Opus-MT models (downloads them once).
run: setup
	$(BIN)/pipeline run configs/example.yaml

# The same job offline, on tiny random-weight models built locally (output is gibberish).
demo: setup
	$(BIN)/python -m pipeline.devtools.tiny_marian models
	$(BIN)/pipeline run configs/demo.yaml

test: setup axe-core
	$(BIN)/pytest $(PYTEST_ARGS)

# axe-core for the accessibility checks, pinned in tests/browser/package-lock.json; installed once
# (again when the lock changes). Without npm or the registry those checks are skipped, not failed.
axe-core:
	@if [ tests/browser/node_modules/.package-lock.json -nt tests/browser/package-lock.json ]; then :; \
	elif ! command -v npm >/dev/null; then echo "npm not found: the axe-core checks are skipped (apt-get install npm)"; \
	else npm ci --prefix tests/browser --no-audit --no-fund --silent || \
	echo "npm ci failed: the axe-core checks are skipped"; fi

# Style, types, the import layers (pyproject: [tool.importlinter]) and no function rated D or worse.
lint: setup
	$(BIN)/ruff check pipeline tests benchmarks
	$(BIN)/ruff format --check pipeline tests benchmarks
	$(BIN)/mypy
	$(BIN)/lint-imports
	@complex="$$($(BIN)/radon cc --min D --show-complexity pipeline)"; \
	if [ -n "$$complex" ]; then echo "functions rated D or worse (split them):"; echo "$$complex"; exit 1; fi

clean-outputs:
	find outputs -mindepth 1 -not -name .gitkeep -delete
