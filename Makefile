# Two commands on a fresh machine: `make run` (the example job) and `make test` (the tests).
# Both create the virtual environment in .venv from requirements.lock on first use.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup run demo test lint clean-outputs

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

test: setup
	$(BIN)/pytest

lint: setup
	$(BIN)/ruff check pipeline tests
	$(BIN)/ruff format --check pipeline tests

clean-outputs:
	find outputs -mindepth 1 -not -name .gitkeep -delete
