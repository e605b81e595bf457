# pysentry: every target installs what it needs first (make deps).
PYTHON ?= python3
BUILD := build
CC ?= gcc

.PHONY: deps demo test bench conformance clean

# System packages (gcc, liburing-dev, fio; chromium renders `pysentry report`
# pages in a test) and the pinned Python packages.
deps:
	@if ! command -v $(CC) >/dev/null 2>&1 || [ ! -f /usr/include/liburing.h ] || ! command -v fio >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then \
		echo "installing gcc, liburing-dev, fio, chromium and nodejs with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc make liburing-dev fio chromium nodejs >/dev/null; \
	fi
	@$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[test]'

$(BUILD)/uring_demo: tools/demo/uring_demo.c | deps
	@mkdir -p $(BUILD)
	$(CC) -O2 -Wall -o $@ $< -luring

# The main job: an io_uring program run under the Sentry, narrating what it does.
# The Sentry's strace-style io_uring trace of the run goes to build/demo.trace;
# a few lines of it are shown at the end.
demo: deps $(BUILD)/uring_demo
	$(PYTHON) -m pysentry run --trace-uring -o $(BUILD)/demo.trace -- $(BUILD)/uring_demo
	@echo; echo "the Sentry's trace of every SQE and CQE is in $(BUILD)/demo.trace; a few lines:"
	@grep -m 2 ' SQE WRITE' $(BUILD)/demo.trace; grep -m 1 ' CQE WRITE' $(BUILD)/demo.trace
	@grep -m 1 ' SQE READ(' $(BUILD)/demo.trace; grep -m 1 ' CQE READ ' $(BUILD)/demo.trace

test: deps
	$(PYTHON) -m pytest -v tests

include tools/Makefile.bench.inc

clean:
	rm -rf $(BUILD) tests/build tools/build

# liburing's own test suite, natively and in the sandbox (docs/conformance.md).
# strace tells a test that never submits natively from one the sandbox stops.
conformance: deps
	@command -v strace >/dev/null 2>&1 || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq strace >/dev/null; }
	$(PYTHON) tools/conformance.py run --markdown docs/conformance.md
