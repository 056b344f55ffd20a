# Everything a fresh machine needs: `make demo` runs the demo scenario, `make test` the tests.
# Both create their own virtual environment in .venv (Python >= 3.11 as `python3`).

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo helsinki test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# siting with every optional backend and reader (CBC, OR-Tools, OSM, rasters, Dask)
$(VENV)/.installed-all: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $@

# ... plus what the tests use (pytest, networkx, spopt, selenium)
$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

demo: $(VENV)/.installed-all
	$(BIN)/siting run scenarios/demo/scenario.toml --out results/demo

helsinki: $(VENV)/.installed-all
	$(BIN)/siting run scenarios/helsinki/scenario.toml --out results/helsinki

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest -q

lint: $(VENV)/.installed-test
	$(BIN)/python -m pip install --quiet ruff mypy
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy src

clean:
	rm -rf $(VENV) results .pytest_cache
