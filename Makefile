# nara: build, run and test. `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c

CARGO ?= cargo
BIN ?= target/release/nara
ARGS ?=
BUNDLE := web/dist/.nara/manifest.json
# Everything the web bundle is built from (the roots in web/bundle-inputs.txt).
WEB_SOURCES := $(shell find $$(grep -v '^\#' web/bundle-inputs.txt) -type f 2>/dev/null)
SCRIPTS := checks/oracle.sh scripts/bootstrap.sh .ci/run

.PHONY: help bootstrap web build run test lint unit oracle clean

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

bootstrap: ## Install what the build and tests need (apt, mdbook, nextest, npm ci)
	@scripts/bootstrap.sh

web: $(BUNDLE) ## Build the web bundle (SPA + book, precompressed) into web/dist

$(BUNDLE): $(WEB_SOURCES) web/node_modules/.package-lock.json
	node web/build.mjs

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error

build: web ## Build the release binary at target/release/nara
	$(CARGO) build --release --locked

run: build ## Build and run nara on :8080 (pass flags with ARGS="--name x")
	target/release/nara $(ARGS)

lint: web ## Formatting, clippy -D warnings, shellcheck
	$(CARGO) fmt --check
	$(CARGO) clippy --locked --all-targets -- -D warnings
	shellcheck $(SCRIPTS)

unit: web ## Unit and integration tests (cargo nextest)
	$(CARGO) nextest run --locked

oracle: ## Run the test oracle against BIN (default target/release/nara)
	checks/oracle.sh $(BIN)

test: bootstrap lint ## Everything: bootstrap, lint, the oracle on a debug build, all tests
	$(CARGO) build --locked
	checks/oracle.sh target/debug/nara
	$(CARGO) nextest run --locked

clean: ## Remove build outputs (target/, web/dist)
	$(CARGO) clean
	rm -rf web/dist web/dist.partial
