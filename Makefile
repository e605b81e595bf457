# pysentry: every target installs what it needs first (make deps).
PYTHON ?= python3
BUILD := build
CC ?= gcc

.PHONY: deps demo test bench conformance clean

# System packages (gcc, liburing-dev, fio) and the pinned Python packages.
deps:
	@if ! command -v $(CC) >/dev/null 2>&1 || [ ! -f /usr/include/liburing.h ] || ! command -v fio >/dev/null 2>&1; then \
		echo "installing gcc, liburing-dev and fio with apt-get"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc make liburing-dev fio >/dev/null; \
	fi
	@$(PYTHON) -m pip install -q --disable-pip-version-check -e '.[test]'

$(BUILD)/uring_demo: tools/demo/uring_demo.c | deps
	@mkdir -p $(BUILD)
	$(CC) -O2 -Wall -o $@ $< -luring

# The main job: an io_uring program run under the Sentry, narrating what it does.
demo: deps $(BUILD)/uring_demo
	$(PYTHON) -m pysentry run -- $(BUILD)/uring_demo

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
