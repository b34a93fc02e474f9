# The two commands a newcomer runs: `make ingest` and `make test`.
# Both create the virtual environment from pyproject.toml first when needed.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: setup ingest test lint format bench bench-extract notebooks figures schema status clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Ingest PubMed (live with NCBI_EMAIL set, else the bundled snapshot), extract, load demo clinic data.
ingest: $(STAMP)
	$(PY) -m pipeline ingest

status: $(STAMP)
	$(PY) -m pipeline status

## The whole test suite, lint included.
test: $(STAMP) lint
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check pipeline tests benchmarks
	$(VENV)/bin/ruff format --check pipeline tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format pipeline tests benchmarks
	$(VENV)/bin/ruff check --fix pipeline tests benchmarks

## Parse + load throughput and memory against Entrez.read (memory at 20,000 and 40,000 articles,
## with DuckDB's buffer cache capped as PIPELINE_DB_MEMORY_LIMIT caps it for a real ingest).
bench: $(STAMP)
	$(PY) -m benchmarks.bench_ingest --articles 20000 --memory-sizes 40000 --duckdb-memory-limit 200MB

## Extraction precision/recall on the development and held-out sets, and abstracts per second.
bench-extract: $(STAMP)
	$(PY) -m benchmarks.bench_extract

## Execute the notebooks into notebooks/executed/ against the warehouse.
notebooks: $(STAMP)
	$(PY) -m pipeline notebooks run --out notebooks/executed

## Save the notebooks' plots as PNG files in figures/.
figures: $(STAMP)
	$(PY) -m pipeline notebooks figures --out figures

## Regenerate warehouse/schema.sql from the migrations.
schema: $(STAMP)
	$(PY) -m pipeline schema --out warehouse/schema.sql

clean:
	rm -rf $(VENV) notebooks/executed figures .pytest_cache .ruff_cache
