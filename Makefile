# The project's vocabulary: run, test, quick, lint, fuzz, chaos, bench.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# Test workers (pytest-xdist). Most tests wait on sockets, subprocesses and databases, so more
# workers than cores pays: 3 was fastest on 2 cores (docs/reliability.md, "Test suite timing").
WORKERS ?= 3
# Byte-compiled caches (gitignored) are written even where the environment forbids it: without
# them every test worker recompiles every test module and assertion rewrite (~20 s under load).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test quick lint typecheck unit fuzz chaos bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

run: $(STAMP)
	$(BIN)/jubao sandbox

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -n $(WORKERS)

# The CI gate: everything.
test: lint typecheck unit

# The fast lane while working: lint, then the tests not marked slow on SQLite (the PostgreSQL
# runs of the same tests are left to `make test`, which stays the gate). No type check: mypy
# alone takes about as long as these tests; `make typecheck` runs it.
quick: lint
	$(BIN)/pytest -q -n $(WORKERS) -m "not slow and not postgres"

# Not part of `make test`: the benchmark suite (QUICK=1 for a short run), the long fuzz run and
# the full crash-safety run. Small samples of the last two run inside `make test`.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk) \
		|| { echo "make bench needs wrk (Debian package wrk)"; exit 1; }
	$(BIN)/python -m bench $(if $(QUICK),--quick,)

fuzz: $(STAMP)
	JUBAO_FUZZ_EXAMPLES=10000 $(BIN)/pytest -q -p no:cacheprovider tests/fuzz

chaos: $(STAMP)
	JUBAO_CHAOS_KILLS=12 $(BIN)/pytest -q -p no:cacheprovider tests/chaos

clean:
	rm -rf $(VENV) .jubao .pytest_cache .mypy_cache .ruff_cache
