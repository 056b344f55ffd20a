# Everything a fresh machine needs: `make demo` runs the demo scenario, `make test` the tests.
# Both create their own virtual environment in .venv (Python >= 3.11 as `python3`).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo helsinki test lint clean

$(BIN)/siting: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(BIN)/siting
	$(BIN)/siting run scenarios/demo/scenario.toml --out results/demo

helsinki: $(BIN)/siting
	$(BIN)/siting run scenarios/helsinki/scenario.toml --out results/helsinki

test: $(BIN)/siting
	$(BIN)/python -m pytest -q

lint: $(BIN)/siting
	$(BIN)/python -m pip install --quiet ruff mypy
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) results .pytest_cache
