# Every test the project has. `make test` is what CI runs (via .ci/run) on a fresh machine.
CARGO ?= cargo

.PHONY: test lint unit build run

test: lint unit

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

unit:
	$(CARGO) test --locked -- --include-ignored

build:
	$(CARGO) build --release --locked

run:
	$(CARGO) run --release --locked -- replay events/
