# nudge — the commands the README promises. Run `make help` for the list.
SHELL := /bin/bash
JOBS ?= $(shell nproc)
NUDGED := build/nudged
ARGS ?=
# ccache hits across clones and build directories (paths are hashed relative to here).
export CCACHE_BASEDIR := $(CURDIR)
export CCACHE_NOHASHDIR := true

.PHONY: help setup build run demo test unit integration contract-test chaos-test cdc-test cdc-crash-test client-build client-test browser-test python-test \
        cpp-client-test emitter-build node-client-test conformance-test demo-test demo-django-test demo-browser-test nextjs-test asan asan-test tsan tsan-test \
        lint format bench bench-smoke fuzz clean package package-test packages-test tour-test docs-test fresh-test

help:
	@echo "make run       install and build only the hub and nudge, start the hub on 127.0.0.1:8080 (development mode)"
	@echo "make demo      the live bank example (examples/bank) on http://127.0.0.1:3000 (BACKEND=django: Django backend)"
	@echo "make test      install what is missing, build, run every suite, print a summary table (scripts/test-suites)"
	@echo "make build     release build; the hub is build/nudged, the CLI build/nudge, change capture build/nudge-cdc"
	@echo "make package   .deb packages (CPack) in build-package/: nudge (hub) and libnudge-emitter-dev"
	@echo "make lint      the root allow-list, ESLint over bench/ tools/ tests/, clang-tidy over src/ and clients/cpp/"
	@echo "make asan-test unit + integration suites under ASan+UBSan (in .ci/run, not in make test)"
	@echo "make tsan-test unit + integration suites under ThreadSanitizer"
	@echo "make fuzz      build the libFuzzer targets (clang) and run each for FUZZ_SECONDS"
	@echo "make bench     benchmarks (see bench/)"

# Debian packages only (fast no-op when present); `make test` also installs npm packages.
setup:
	@scripts/setup

# Everything, test binaries included (a build directory `make run` made without them gets them).
build:
	@scripts/setup --deb
	@[ -f build/build.ninja ] || cmake --preset release >/dev/null
	@if grep -q '^NUDGE_BUILD_TESTS:BOOL=OFF' build/CMakeCache.txt; then cmake --preset release -DNUDGE_BUILD_TESTS=ON >/dev/null; fi
	cmake --build build -j$(JOBS)

# Only what the README tour needs: `scripts/setup --run` (no browser, proxy, database or
# monitoring package), the hub and `nudge` (no test binaries; a first build configures without
# them so GoogleTest need not be installed), and the Node emitter the tour's snippets import.
run: run-build emitter-build
	$(NUDGED) --dev $(ARGS)

.PHONY: run-build
run-build:
	@scripts/setup --run
	@[ -f build/build.ninja ] || cmake --preset release -DNUDGE_BUILD_TESTS=OFF >/dev/null
	cmake --build build -j$(JOBS) --target nudged nudge_cli

# Every suite in scripts/test-suites (one line each), logs in build/test-logs/, a summary table.
# The sanitizer and fuzz runs are in .ci/run (make asan-test, tsan-test, fuzz).
test: setup build
	@scripts/test-suites

unit: build
	ctest --test-dir build --output-on-failure -j$(JOBS) --timeout 120

# The client packages' dist/ (ESM + .d.ts, each with its size budget check) for the suites using
# them. Rebuilt only when their sources change (several suites depend on them). The core first:
# the bindings import it (and type-check against its dist/).
CORE_DIST := clients/query-core/dist/index.js
BINDINGS := react-query vue-query solid-query svelte-query angular-query
BINDING_DISTS := $(foreach b,$(BINDINGS),clients/$(b)/dist/index.js)
client-build: $(CORE_DIST) $(BINDING_DISTS)
$(CORE_DIST): $(wildcard clients/query-core/src/*.ts) $(wildcard clients/query-core/*.json) clients/size.mjs
	npm run build -w clients/query-core || { rm -rf clients/query-core/dist; exit 1; }
define binding_rule
clients/$(1)/dist/index.js: $(CORE_DIST) $(wildcard clients/$(1)/src/*.ts) $(wildcard clients/$(1)/*.json)
	npm run build -w clients/$(1) || { rm -rf clients/$(1)/dist; exit 1; }
endef
$(foreach b,$(BINDINGS),$(eval $(call binding_rule,$(b))))

# emitter-build: restart.test.mjs publishes through the Node emitter (its retries ride out the restart).
# Two files at a time: each starts its own hubs (and Redis, nginx) on free ports, and most of a
# file's time is waiting on them, so on 2 cores this takes ~120 s instead of ~220 s. The
# sanitizer runs below keep one at a time (4x slower binaries, SLOW deadlines).
INTEGRATION_JOBS ?= 2
integration: build client-build emitter-build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) node --test --test-concurrency=$(INTEGRATION_JOBS) --test-timeout=600000 tests/integration/

# The publish contract (docs/api/publish.schema.json, tests/contract/publish/) against the real hub;
# the emitters replay the same files in their own suites, the hub's parser in `make unit`.
contract-test: build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) node --test --test-concurrency=1 --test-timeout=120000 tests/contract/

# nudge-cdc against a real Postgres 15 (tests/cdc/cdc.test.mjs): rules, bad input, the guarantees.
cdc-test: build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) NUDGE_CDC_BIN=$(CURDIR)/build/nudge-cdc \
	  node --test --test-concurrency=1 --test-timeout=300000 tests/cdc/cdc.test.mjs

# The crash run (10,000 transactions, 3 SIGKILLs, a 30 s hub outage, a Postgres crash): in .ci/run,
# not in make test, which it would lengthen by ~40 s.
cdc-crash-test: build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) NUDGE_CDC_BIN=$(CURDIR)/build/nudge-cdc \
	  node --test --test-concurrency=1 --test-timeout=300000 tests/cdc/crash.test.mjs

# Connection-state recovery under chaos (drops, slow consumers, a restart): no silent loss.
chaos-test: build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) node --test --test-timeout=180000 tests/chaos/

client-test: client-build
	npm test -w clients/query-core $(foreach b,$(BINDINGS),-w clients/$(b))

# The Python emitter (clients/python) against the real hub and real socket.io-clients.
python-test: build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) /usr/bin/python3 -m pytest -q -p no:cacheprovider clients/python/tests

# The C++ emitter's CLI (build/nudge) against the real hub; its GoogleTest suite runs in `make unit`.
cpp-client-test: build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) NUDGE_CLI=$(CURDIR)/build/nudge \
	  node --test --test-concurrency=1 --test-timeout=120000 clients/cpp/tests/

# The Node emitter's dist/ (ESM + .d.ts); examples/bank uses it.
EMITTER_DIST := clients/node/dist/index.js
emitter-build: $(EMITTER_DIST)
$(EMITTER_DIST): $(wildcard clients/node/src/*.ts) $(wildcard clients/node/*.json)
	npm run build -w clients/node || { rm -rf clients/node/dist; exit 1; }

# The Node emitter (clients/node): build, type tests, node:test against the real hub.
node-client-test: build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) npm test -w clients/node

# The live bank example: hub on 127.0.0.1:8080, app on http://127.0.0.1:3000 (ARGS="--port 3001 --hub-port 8081").
# BACKEND=django serves it from the Django backend (examples/bank/django) instead of the Node one.
# DB=postgres (with BACKEND=django): on a throwaway PostgreSQL 15, the app's emits off, the events
# made by nudge-cdc from the committed rows (examples/bank/cdc-rules.toml).
BACKEND ?= node
DB ?= sqlite
# demo-ports first: a port already taken (say, by `make run`) is said before anything is built.
demo: demo-ports setup build client-build emitter-build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) node examples/bank/run.mjs --backend $(BACKEND) --db $(DB) $(ARGS)

.PHONY: demo-ports
demo-ports:
	@if command -v node >/dev/null; then node examples/bank/run.mjs --check-ports $(ARGS); fi

# The bank example in Chromium (two users, refetch only after events, no polling), its REST API
# and its launcher, each against both backends (Node and Django); the Django backend's events.
demo-test: demo-django-test demo-browser-test

# The Django backend's own suite (after-commit events through the real channel layer and hub).
demo-django-test: build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) /usr/bin/python3 -m pytest -q -p no:cacheprovider examples/bank/django/tests

# The bank example in Chromium against both backends, and its launcher.
demo-browser-test: build client-build emitter-build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) npm test -w examples/bank

# The Next.js example (server render + resume from its position) in Chromium; `next build` is
# cached in examples/nextjs/.next, keyed on its sources and the client's dist/.
nextjs-test: build client-build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) npm test -w examples/nextjs

# The client library in Debian's Chromium (playwright-core) against the real hub.
browser-test: build client-build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) node --test --test-concurrency=1 --test-timeout=180000 tests/browser/

# Fresh data (docs/fresh-data.md, tests/fresh/): the bank's Django backend on a PostgreSQL primary
# and a hot standby 1 s behind, in Chromium, with and without the fresh-data middleware, and
# behind nginx proxy_cache. FRESH_CYCLES pay -> refetch cycles per phase (10 here, ~1.5 min; .ci/run: 300).
FRESH_CYCLES ?= 10
fresh-test: build client-build
	FRESH_CYCLES=$(FRESH_CYCLES) NUDGED_BIN=$(CURDIR)/$(NUDGED) \
	  node --test --test-concurrency=1 --test-timeout=1800000 tests/fresh/

# The conformance suite (tests/conformance): the same behaviours for every binding, through an
# app per framework (built once, cached under build/conformance/) in Chromium against one hub.
conformance-test: build client-build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) node --test --test-concurrency=1 --test-timeout=900000 tests/conformance/

# .deb packages from a build with prefix /usr (preset `package`, no tests): build-package/
# nudge_<version>_<arch>.deb (nudged, nudge, systemd unit, /etc/nudge) and
# libnudge-emitter-dev_<version>_<arch>.deb (the C++ emitter's find_package(nudge) files).
package:
	@scripts/setup --deb
	@[ -f build-package/build.ninja ] || cmake --preset package >/dev/null
	cmake --build build-package -j$(JOBS)
	cd build-package && cpack -G DEB

# The packages, cmake --install and find_package(nudge), into scratch roots (tests/package/).
package-test: build package
	NUDGED_BIN=$(CURDIR)/$(NUDGED) NUDGE_BUILD_DIR=$(CURDIR)/build NUDGE_PACKAGE_DIR=$(CURDIR)/build-package \
	  node --test --test-concurrency=1 --test-timeout=300000 tests/package/

# The JS packages as an app installs them: npm pack, a fresh Vite + React + TanStack Query app
# outside the workspace, built and checked in Chromium against the hub; the Python package
# installed with pip into a fresh venv.
packages-test: build client-build
	NUDGED_BIN=$(CURDIR)/$(NUDGED) node --test --test-concurrency=1 --test-timeout=600000 tests/packages/

# The README's 5-minute tour, its commands taken from README.md and run in the order written.
tour-test: build
	node --test --test-timeout=300000 tests/tour/

# The documentation's checks: the performance figures in README.md and docs/performance.md are
# what tools/perf-summary.mjs makes of bench/RESULTS.md, and every relative link resolves.
docs-test:
	node --test --test-timeout=60000 tests/docs/

asan:
	@[ -f build-asan/build.ninja ] || cmake --preset asan >/dev/null
	cmake --build build-asan -j$(JOBS)

# ASan+UBSan over the unit and integration suites (in .ci/run; too slow for `make test`).
asan-test: asan client-build
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir build-asan --output-on-failure -j$(JOBS) --timeout 300
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  NUDGED_BIN=$(CURDIR)/build-asan/nudged NUDGE_SANITIZED=1 \
	  node --test --test-concurrency=1 --test-timeout=600000 tests/integration/
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  NUDGED_BIN=$(CURDIR)/build-asan/nudged NUDGE_CLI=$(CURDIR)/build-asan/nudge NUDGE_SANITIZED=1 \
	  node --test --test-concurrency=1 --test-timeout=120000 clients/cpp/tests/

tsan:
	@[ -f build-tsan/build.ninja ] || cmake --preset tsan >/dev/null
	cmake --build build-tsan -j$(JOBS)

tsan-test: tsan client-build
	TSAN_OPTIONS=halt_on_error=1 ctest --test-dir build-tsan --output-on-failure -j$(JOBS) --timeout 300
	TSAN_OPTIONS=halt_on_error=1 NUDGED_BIN=$(CURDIR)/build-tsan/nudged NUDGE_SANITIZED=1 \
	  node --test --test-concurrency=1 --test-timeout=600000 tests/integration/

# Benchmarks: the load generator, the Socket.IO peer and the send() floor, in one run (bench/run.mjs).
# BENCH_ONLY=cdc: nudge-cdc's latency, CPU and decode throughput (bench/cdc/run.mjs, on the
# binaries of `make build`; writes bench/cdc/RESULTS.md).
bench:
ifeq ($(BENCH_ONLY),cdc)
	@$(MAKE) -s build
	bench/cdc/run.mjs
else
	bench/run.mjs
endif

# The same scenarios at small N, seconds long, so the tools cannot rot (no timing asserts).
bench-smoke:
	bench/run.mjs --smoke

# The load generator and bench/run.mjs against stand-in servers that drop or stall clients (bench/test).
.PHONY: bench-test
bench-test:
	@[ -f build-bench/build.ninja ] || cmake --preset bench >/dev/null
	cmake --build build-bench --target nudge-loadgen nudged send_floor nudge-micro -j$(JOBS)
	node --test --test-concurrency=1 --test-timeout=300000 bench/test/*.test.mjs

# libFuzzer targets (clang): each runs FUZZ_SECONDS from its checked-in corpus.
FUZZ_SECONDS ?= 30
fuzz:
	@[ -f build-fuzz/build.ninja ] || cmake --preset fuzz >/dev/null
	cmake --build build-fuzz -j$(JOBS)
	@for f in build-fuzz/fuzz/*_fuzz; do \
	  name=$$(basename $$f _fuzz); work=$$(mktemp -d); \
	  echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$work fuzz/corpus/$$name 2>&1 | grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' ; \
	  status=$${PIPESTATUS[0]}; rm -rf $$work; [ $$status -eq 0 ] || exit $$status; \
	done

lint: build
	scripts/check-tree
	npx eslint --config tools/eslint.config.mjs bench tools tests
	run-clang-tidy-14 -quiet -p build -j $(JOBS) '$(CURDIR)/(src|clients/cpp)/.*\.cpp$$'

format:
	find src tests bench tools fuzz clients/cpp -name '*.[ch]pp' | xargs clang-format-14 -i

clean:
	rm -rf build build-debug build-asan build-tsan build-fuzz build-package
