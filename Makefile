# The two commands a newcomer runs: `make ingest` and `make test`.
# Both first create .venv with exactly the versions pinned in uv.lock (uv is fetched from PyPI if missing).

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

# Installs are pinned by uv.lock. uv itself, at this pinned version, is installed from PyPI into
# .tools/ when missing; it builds .venv with exactly the locked versions (`make lock` upgrades them).
UV_VERSION := 0.13.9
TOOLS      := .tools
UV         := $(TOOLS)/bin/uv
export UV_PYTHON_DOWNLOADS := never
export UV_PROJECT_ENVIRONMENT := $(VENV)

.PHONY: setup lock ingest test test-fast lint format bench bench-live bench-parse bench-baseline bench-extract notebooks figures schema status clean

setup: $(STAMP)

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(STAMP): pyproject.toml uv.lock | $(UV)
	$(UV) sync --locked --extra dev --python $(PYTHON)
	touch $(STAMP)

## Upgrade every locked version on purpose (then run `make test` and commit uv.lock).
lock: $(UV)
	$(UV) lock --upgrade --python $(PYTHON)

## Ingest PubMed (live with NCBI_EMAIL set, else the bundled snapshot), extract, load demo clinic data.
ingest: $(STAMP)
	$(PY) -m pipeline ingest

status: $(STAMP)
	$(PY) -m pipeline status

## The whole test suite, lint included, on every core.
test: $(STAMP) lint
	$(PY) -m pytest -n auto

## The suite without the slow tests (notebooks, browser, subprocesses, benchmarks): for quick loops.
test-fast: $(STAMP)
	$(PY) -m pytest -n auto -m "not slow"

lint: $(STAMP)
	$(VENV)/bin/ruff check pipeline tests benchmarks
	$(VENV)/bin/ruff format --check pipeline tests benchmarks

format: $(STAMP)
	$(VENV)/bin/ruff format pipeline tests benchmarks
	$(VENV)/bin/ruff check --fix pipeline tests benchmarks

## The whole `ingest --snapshot` end to end against Entrez.read alone (5,000 and 20,000 records;
## 1 worker and every core at the smallest size; stage shares; peak memory of the process tree).
## Peak memory at 100,000 records too: make bench BENCH_MEMORY_SIZES=100000 (adds ~10 minutes).
BENCH_SIZES ?= 5000 20000
BENCH_MEMORY_SIZES ?=
bench: $(STAMP) bench-live
	$(PY) -m benchmarks.bench_end_to_end --sizes $(BENCH_SIZES) --memory-sizes $(BENCH_MEMORY_SIZES)

## Live `ingest --live` against the fake E-utilities server (20,000 records, 500 per efetch,
## 300 ms per request), without and with an API key: wall time beside the rate-limit floor.
bench-live: $(STAMP)
	$(PY) -m benchmarks.bench_live --records 20000 --batch-size 500 --latency 0.3

## The baseline path on a local Dask cluster: records/s per worker, and the 2026 projection.
bench-baseline: $(STAMP)
	$(PY) -m benchmarks.bench_baseline --files 2 4 8 --records 2000 --workers 1 2

## Parse + load alone against Entrez.read (memory at 20,000 and 40,000 articles, DuckDB's cache
## capped as PIPELINE_DB_MEMORY_LIMIT caps it for a real ingest).
bench-parse: $(STAMP)
	$(PY) -m benchmarks.bench_ingest --articles 20000 --memory-sizes 40000 --duckdb-memory-limit 200MB

## Extraction on the development, held-out and the pool's tuning, untouched, fresh and third blind
## sets, one each:
## precision/recall (strict: value and CI), N randomized, arm agreement, dose exactness, speed.
bench-extract: $(STAMP)
	$(PY) -m benchmarks.bench_extract --set all

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
	rm -rf $(VENV) $(TOOLS) notebooks/executed figures .pytest_cache .ruff_cache
