# The same targets run on a developer's machine and in CI (.ci/run calls `make test`).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.airwatch-installed
# cpp/fuzz (harnesses, corpora) is not part of the extension: a merged corpus does not rebuild it.
CPP_SOURCES := $(shell find cpp -type f -not -path 'cpp/fuzz/*') CMakeLists.txt pyproject.toml
CPP_BUILD := build/cpp
STUB := src/airwatch/_core.pyi
# Values are left out (--exclude-values): the stub types the module, it does not record its constants.
STUBGEN := $(BIN)/python -m nanobind.stubgen -m airwatch._core --exclude-values --quiet

# Fuzzing: seconds per target for `make fuzz` and for the short run in `make test`; FUZZ_TARGETS picks
# some of read_csv ghcn_dly validate aqi aggregate payloads (all by default).
FUZZ_SECONDS ?= 600
FUZZ_SMOKE_SECONDS ?= 15
FUZZ_TARGETS ?=
ASAN_PY_BUILD := build/asan-py
ASAN_PY_CXX := g++
# The Python tests that drive the C++ core hardest, for test-asan-py.
ASAN_PY_TESTS := tests/test_core.py tests/domain/test_parse.py tests/domain/test_kernels.py \
  tests/domain/test_validate.py tests/domain/test_aqi.py tests/domain/test_weather.py tests/domain/test_features.py

.PHONY: help setup system-deps fuzz-deps browser-deps run test test-cpp test-sanitize test-asan-py test-py test-faults test-stack \
  fuzz-build fuzz-smoke fuzz stack-up stack-down check-stub stub bench load lint format clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Exact versions from requirements/lock.txt, then the package itself (compiles the C++ core).
$(STAMP): $(BIN)/python requirements/lock.txt $(CPP_SOURCES)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements/lock.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-build-isolation --no-deps -e .
	touch $(STAMP)

# The package's own modules compiled to bytecode, as a wheel's install does: the editable install
# leaves them to each process, which cannot cache them where PYTHONDONTWRITEBYTECODE is set (this
# machine, CI), so every command and test worker compiled them again (0.6 s of each start; docs/core.md).
setup: $(STAMP)  ## Create .venv, install pinned dependencies, build the C++ core
	@$(BIN)/python -m compileall -q src/airwatch

# GoogleTest and clang-format come from Debian's packages; installed only when missing.
system-deps:
	@if [ ! -f /usr/include/gtest/gtest.h ] || ! command -v clang-format >/dev/null; then \
	  echo "installing libgtest-dev clang-format (Debian packages)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libgtest-dev clang-format >/dev/null; \
	fi

# clang with libFuzzer and its sanitizer runtimes (Debian's libclang-rt-N-dev for clang N), installed
# only when a one-line fuzzer does not link.
fuzz-deps:
	@if ! command -v clang++ >/dev/null; then \
	  echo "installing clang (Debian package)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq clang >/dev/null; \
	fi
	@probe='extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }'; \
	if ! echo "$$probe" | clang++ -x c++ -fsanitize=fuzzer,address,undefined - -o /dev/null 2>/dev/null; then \
	  rt=libclang-rt-$$(clang++ -dumpversion | cut -d. -f1)-dev; \
	  echo "installing $$rt (Debian package: libFuzzer and the sanitizer runtimes)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq "$$rt" >/dev/null; \
	fi

# Chromium and its WebDriver from Debian's packages for the report's browser test (tests/e2e); installed
# only when missing. Selenium is pointed at /usr/bin/chromedriver, so it never downloads a driver itself.
browser-deps:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing chromium chromium-driver (Debian packages)"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

# The main job, then a month of forecasts replayed and scored as the daily schedule would have made
# them, then the monitoring report of it all (data/store/reports/report.html).
run: setup  ## Run the main job on the embedded defaults (bundled sample, local store and MLflow, ephemeral Prefect), replay and score the last 30 days, write the report
	$(BIN)/airwatch run
	$(BIN)/airwatch replay --days 30
	$(BIN)/airwatch report

test: check-stub lint test-cpp test-sanitize fuzz-smoke test-asan-py test-py test-faults test-stack  ## All checks: stub, lint, C++ (plain, sanitized, fuzzed), Python (plain, on the sanitized core, with failing servers), the production stack

test-cpp: system-deps
	cmake -S . -B $(CPP_BUILD) -DAIRWATCH_BUILD_PYTHON=OFF -DAIRWATCH_BUILD_TESTS=ON -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build $(CPP_BUILD) -j2
	ctest --test-dir $(CPP_BUILD) --output-on-failure

# The C++ tests again under AddressSanitizer and UndefinedBehaviorSanitizer (any report fails the run).
test-sanitize: system-deps  ## C++ unit tests under ASan + UBSan
	cmake -S . -B build/sanitize -DAIRWATCH_BUILD_PYTHON=OFF -DAIRWATCH_BUILD_TESTS=ON -DAIRWATCH_SANITIZE=ON \
	  -DCMAKE_BUILD_TYPE=Debug >/dev/null
	cmake --build build/sanitize -j2
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  ctest --test-dir build/sanitize --output-on-failure

# The libFuzzer harnesses of cpp/fuzz, built by clang with ASan and UBSan (and the core instrumented).
fuzz-build: fuzz-deps
	cmake -S . -B build/fuzz -DCMAKE_CXX_COMPILER=clang++ -DAIRWATCH_BUILD_PYTHON=OFF -DAIRWATCH_FUZZ=ON \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build/fuzz -j2

# From the committed corpora only, nothing written back; any crash, leak or sanitizer report fails.
fuzz-smoke: fuzz-build setup  ## Each fuzz target (C++ parsers, rules and kernels; the Python payload parsers) for FUZZ_SMOKE_SECONDS
	scripts/fuzz.sh smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

fuzz: fuzz-build setup  ## Each fuzz target for FUZZ_SECONDS (600); inputs that add coverage are merged into the corpora
	scripts/fuzz.sh long $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The extension itself under ASan and UBSan (gcc's, as the normal build), in its own build folder, run by
# the ordinary interpreter with gcc's ASan runtime preloaded (ASan must come first in the process), and
# libstdc++ right after it: python is not linked with it, and ASan resolves the real __cxa_throw when
# it starts, so without it the first C++ exception (CoreError) is an ASan CHECK failure.
# Leak checks are off: CPython and NumPy keep allocations alive until exit by design.
test-asan-py: setup  ## Focused Python tests against airwatch._core built with ASan + UBSan
	cmake -S . -B $(ASAN_PY_BUILD) -DCMAKE_CXX_COMPILER=$(ASAN_PY_CXX) -DAIRWATCH_BUILD_PYTHON=ON -DAIRWATCH_SANITIZE=ON \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPython_EXECUTABLE=$(abspath $(BIN)/python) -Dnanobind_DIR=$$($(BIN)/python -m nanobind --cmake_dir) >/dev/null
	cmake --build $(ASAN_PY_BUILD) -j2 --target _core
	core=$$(ls $(ASAN_PY_BUILD)/_core*.so) && \
	LD_PRELOAD="$$($(ASAN_PY_CXX) -print-file-name=libasan.so) $$($(ASAN_PY_CXX) -print-file-name=libstdc++.so)" \
	ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	AIRWATCH_TEST_CORE=$$core $(BIN)/python -m pytest -q -p no:cacheprovider -p tests.asan_core $(ASAN_PY_TESTS)

# Two workers (pytest-xdist), each test file on one of them: together they keep the two cores about 90%
# busy, so the suite takes its CPU time over two cores; each worker runs its libraries' thread pools small
# (tests/conftest.py) not to spin on the other's core. Files are handed out in collection order, which
# tests/conftest.py makes longest first (LONGEST_FIRST). The tests marked `stack` are left to test-stack,
# which starts the stack they need: here they would only be skipped.
test-py: setup browser-deps
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder -m "not faults and not crash and not stack"

# Fault injection: integration tests that stop, restart and break real servers (S3 behind a fault proxy,
# MLflow, Prefect), and the crash tests that kill `airwatch run` at each checkpoint and run it again.
# They wait on timeouts, restarts and a dozen whole runs, so they run apart from the unit and flow tests.
test-faults: setup  ## Faults injected: dependencies failing mid-run, the main job killed (tests marked `faults`, `crash`; docs/reliability.md)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder -m "faults or crash"

stub: setup  ## Regenerate src/airwatch/_core.pyi from the built module (nanobind stubgen)
	$(STUBGEN) -o $(STUB)

# The committed stub must be what stubgen makes of the module just built, so mypy checks callers
# against the real signatures; a difference is printed as a diff.
check-stub: setup  ## Fail when src/airwatch/_core.pyi differs from a freshly generated stub
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	$(STUBGEN) -o "$$tmp/_core.pyi" && \
	if ! diff -u --label "$(STUB) (committed)" --label "$(STUB) (generated)" $(STUB) "$$tmp/_core.pyi"; then \
	  echo "check-stub: $(STUB) differs from the built module's stub (above); run 'make stub' and commit it" >&2; \
	  exit 1; \
	fi; echo "check-stub: $(STUB) is up to date"

# The production stack (PostgreSQL, moto S3, MLflow, Prefect) on loopback for the tests marked `stack`;
# stopped afterwards whatever happens, so nothing is left running.
test-stack: setup  ## Start the production stack, run the tests marked `stack` against it, stop it
	@trap 'scripts/stack.sh down' EXIT; scripts/stack.sh up && \
	  STACK_ENV_FILE=$$(scripts/stack.sh env) $(BIN)/python -m pytest -q -m stack tests/stack

stack-up: setup  ## Start the production stack on loopback (client env: build/stack/env)
	scripts/stack.sh up

stack-down:  ## Stop the production stack
	scripts/stack.sh down

# drift.py runs Evidently in an environment of its own (build/bench-evidently, made on first use from
# benchmarks/evidently-requirements.txt): Evidently does not import with the project's pandas.
bench: setup  ## Benchmarks: the C++ core against pandas, Polars, DuckDB, Evidently, LightGBM and scikit-learn on the same data
	mkdir -p benchmarks/results
	$(BIN)/python benchmarks/features.py --json benchmarks/results/features.json
	$(BIN)/python benchmarks/ingest.py --json benchmarks/results/ingest.json
	$(BIN)/python benchmarks/transform.py --json benchmarks/results/transform.json
	DO_NOT_TRACK=true $(BIN)/python benchmarks/drift.py --json benchmarks/results/drift.json
	$(BIN)/python benchmarks/forest.py --json benchmarks/results/forest.json
	$(BIN)/python benchmarks/ridge.py --json benchmarks/results/ridge.json

# The whole main job on GENERATED national-scale data shaped like ../shared/data/epa (1,000 sites x 10
# years of daily PM2.5 and ozone, one year of hourly data, a few bad rows), in a temporary folder: about
# 33 minutes on 2 cores, and 18 GB at its peak (docs/reliability.md), so the run is stopped above 20 GB
# rather than left to the OOM killer. Not part of `make test`.
load: setup  ## `airwatch run` on national-scale generated data: wall time and peak memory per stage
	mkdir -p benchmarks/results
	$(BIN)/python benchmarks/load.py --json benchmarks/results/load.json

lint: setup system-deps  ## ruff, mypy and clang-format
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/mypy
	clang-format --dry-run -Werror $$(find cpp -name '*.cpp' -o -name '*.hpp')

format: setup system-deps  ## Apply ruff format and clang-format
	$(BIN)/ruff format src tests benchmarks scripts
	$(BIN)/ruff check --fix src tests benchmarks scripts
	clang-format -i $$(find cpp -name '*.cpp' -o -name '*.hpp')

clean:  ## Remove the environment, builds and the local store (stops the stack first)
	-scripts/stack.sh purge
	rm -rf $(VENV) build data/store
