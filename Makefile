# Every test the project has. `make test` is what CI runs (via .ci/run) on a fresh machine.
CARGO ?= cargo
PYTHON ?= python3
VENV := $(CURDIR)/.venv

.PHONY: test lint unit build run venv

test: lint unit infra

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

# Test tools (moto_server, cargo-lambda + zig), pinned in requirements-test.txt, into .venv/.
venv: .venv/.stamp

.venv/.stamp: requirements-test.txt
	$(PYTHON) -m venv .venv
	.venv/bin/pip install --disable-pip-version-check --no-input -r requirements-test.txt
	touch $@

# The emulator tests are #[ignore]d for a plain `cargo test`; here they run, told where the tools are.
unit: .venv/.stamp
	PATH="$(VENV)/bin:$$PATH" MOTO_SERVER="$(VENV)/bin/moto_server" CARGO_LAMBDA="$(VENV)/bin/cargo-lambda" $(CARGO) test --locked -- --include-ignored

build:
	$(CARGO) build --release --locked

run:
	$(CARGO) run --release --locked -- replay events/

include infra/infra.mk
