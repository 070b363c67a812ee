# Every test the project has. `make test` is what CI runs (via .ci/run) on a fresh machine.
CARGO ?= cargo
PYTHON ?= python3
VENV := $(CURDIR)/.venv

.PHONY: test lint unit build run venv deny browser fuzz fuzz-seeds fuzz-check

test: lint unit infra deny

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets --locked -- -D warnings

# Dependency policy (deny.toml): licenses, banned/duplicate crates, sources (crates.io only), from the
# committed Cargo.lock. cargo-deny is built once into .tools/ (about 2-3 min on 2 cores). The
# `advisories` check is left out: it fetches the RustSec advisory database from GitHub, which is
# not reachable from this project's machines or CI (bans, licenses and sources work offline).
CARGO_DENY_VERSION := 0.20.2
CARGO_DENY := $(CURDIR)/.tools/bin/cargo-deny

$(CARGO_DENY):
	$(CARGO) install --locked --version =$(CARGO_DENY_VERSION) --root $(CURDIR)/.tools cargo-deny

deny: $(CARGO_DENY)
	$(CARGO_DENY) --locked check bans licenses sources

# Test tools (moto_server, cargo-lambda + zig), pinned in requirements-test.txt, into .venv/.
venv: .venv/.stamp

.venv/.stamp: requirements-test.txt
	$(PYTHON) -m venv .venv
	.venv/bin/pip install --disable-pip-version-check --no-input -r requirements-test.txt
	touch $@

# Headless Chromium for the HTML report's browser tests (tests/report_browser.rs): Debian's
# `chromium` package, pinned; installed (as root, or with sudo) when missing or another version.
CHROMIUM_VERSION := 150.0.7871.100-1~deb12u1
CHROMIUM ?= chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

browser:
	@if [ "$$(dpkg-query -W -f='$${Version}' chromium 2>/dev/null)" != "$(CHROMIUM_VERSION)" ]; then \
	  $(SUDO) apt-get update && \
	  { DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium=$(CHROMIUM_VERSION) chromium-common=$(CHROMIUM_VERSION) || \
	    { echo "make browser: chromium $(CHROMIUM_VERSION) is no longer in the Debian archive; installing the archive's version (update CHROMIUM_VERSION)" >&2; \
	      DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium; }; }; \
	fi
	@$(CHROMIUM) --version

# The emulator and browser tests are #[ignore]d for a plain `cargo test`; here they run, told
# where the tools are.
unit: .venv/.stamp browser
	PATH="$(VENV)/bin:$$PATH" MOTO_SERVER="$(VENV)/bin/moto_server" CARGO_LAMBDA="$(VENV)/bin/cargo-lambda" CHROMIUM="$(CHROMIUM)" $(CARGO) test --locked -- --include-ignored

build:
	$(CARGO) build --release --locked

run:
	$(CARGO) run --release --locked -- replay events/

# Fuzzing (cargo fuzz, libFuzzer): each target of fuzz/ for FUZZ_SECONDS, one after another, in one
# process (no -jobs), from its seeds (built from events/ into fuzz/seeds/), its committed
# reproducers (fuzz/regressions/) and the corpus kept in fuzz/corpus/. A crash fails the run and
# leaves its input in fuzz/artifacts/<target>/; each run's log is fuzz/logs/<target>.log. Only the
# stable toolchain exists here: RUSTC_BOOTSTRAP=1 lets it take the -Z flags cargo fuzz passes.
# `make test` runs every seed and reproducer once, without cargo fuzz (tests/fuzz_seeds.rs).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= decode lambda record alert
# Sanitizer of the fuzz build: none (the crate has no unsafe code; about 2x the executions of
# address) or address.
FUZZ_SANITIZER ?= none
FUZZ_ARGS ?=
CARGO_FUZZ_VERSION := 0.13.2
CARGO_FUZZ := $(CURDIR)/.tools/bin/cargo-fuzz
FUZZ_ENV := RUSTC_BOOTSTRAP=1

$(CARGO_FUZZ):
	$(CARGO) install --locked --version =$(CARGO_FUZZ_VERSION) --root $(CURDIR)/.tools cargo-fuzz

fuzz-seeds:
	ROOTWATCH_FUZZ_SEEDS=$(CURDIR)/fuzz/seeds $(CARGO) test --locked --test fuzz_seeds write_seeds -- --exact

fuzz: $(CARGO_FUZZ) fuzz-seeds
	$(FUZZ_ENV) $(CARGO_FUZZ) build --sanitizer $(FUZZ_SANITIZER)
	@mkdir -p fuzz/logs
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/corpus/$$t; \
	  extra=; [ -d fuzz/regressions/$$t ] && extra=fuzz/regressions/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s (log: fuzz/logs/$$t.log)"; \
	  $(FUZZ_ENV) $(CARGO_FUZZ) run --sanitizer $(FUZZ_SANITIZER) $$t fuzz/corpus/$$t fuzz/seeds/$$t $$extra -- \
	    -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -close_fd_mask=1 \
	    -print_final_stats=1 -dict=fuzz/cloudtrail.dict $(FUZZ_ARGS) > fuzz/logs/$$t.log 2>&1; rc=$$?; \
	  grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec' fuzz/logs/$$t.log; \
	  echo "  corpus: $$(ls fuzz/corpus/$$t | wc -l) files"; \
	  if [ $$rc -ne 0 ]; then tail -40 fuzz/logs/$$t.log; echo "fuzz: $$t FAILED (input in fuzz/artifacts/$$t/)"; exit 1; fi; \
	done

# The fuzz crate type-checks on the stable toolchain without cargo fuzz (not in `make test`:
# about 3 min of CPU on a fresh machine, for four one-line files; tests/fuzz_seeds.rs checks them).
fuzz-check:
	$(CARGO) check --manifest-path fuzz/Cargo.toml --locked

include infra/infra.mk
