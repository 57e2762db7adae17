# mcpsession: the commands CI and a newcomer run. `make help` lists them.
#
# The repository is a Go workspace of five modules: the library (.), mcpgo,
# gosdk, examples, and integration (which alone depends on Docker's client
# libraries, through testcontainers-go). Targets that go over modules skip
# a module that has no packages yet.

SHELL := /bin/bash

# Modules whose tests use internal/testdb: they get a Postgres container
# from cmd/withpostgres. The integration module starts its own.
UNIT_MODULES := . mcpgo gosdk examples
MODULES      := $(UNIT_MODULES) integration

BIN := $(CURDIR)/bin

# go test flags. -count=1: results depend on databases and containers the
# test cache cannot see.
GO_TEST_FLAGS ?= -race -count=1

# The goose CLI at the version the library requires, without the drivers
# we have no use for.
GOOSE_VERSION = $(shell go list -m -f '{{.Version}}' github.com/pressly/goose/v3)
GOOSE_TAGS    := no_clickhouse no_libsql no_mssql no_mysql no_vertica no_ydb
GOOSE         := $(BIN)/goose

STATICCHECK_VERSION := v0.8.2
STATICCHECK         := $(BIN)/staticcheck
STATICCHECK_CHECKS ?= inherit

WITHPOSTGRES := $(BIN)/withpostgres

# The image `make postgres-image` builds, for hosts without a registry.
IMAGE ?= mcpsession-postgres:local
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo --preserve-env=PG_IMAGE_MIRROR,PG_IMAGE_SUITE,PG_IMAGE_KEYRING,PG_IMAGE_KEEP_JIT,TMPDIR)

# each_module runs the shell command $(2) in every module of $(1) that has
# packages, and stops at the first that fails.
define each_module
	@set -e; for m in $(1); do \
		if [ -z "$$(cd "$$m" && go list -e ./... 2>/dev/null)" ]; then \
			echo "==> $$m: no packages yet"; continue; \
		fi; \
		echo "==> $$m: $(2)"; \
		(cd "$$m" && $(2)) || { echo "make: '$(2)' failed in module $$m" >&2; exit 1; }; \
	done
endef

.PHONY: help
help:
	@echo 'make test            all tests of all modules, Postgres in containers (needs Docker)'
	@echo 'make lint            gofmt, go vet and staticcheck on all modules'
	@echo 'make bench           benchmarks, written to BENCHMARKS.md'
	@echo 'make postgres-image  build $(IMAGE) from Debian packages, for hosts without a registry'
	@echo 'make migrate-up   DSN=postgres://…|sqlite:PATH   apply the migrations with the goose CLI'
	@echo 'make migrate-down DSN=postgres://…|sqlite:PATH   roll the latest one back'

# --- tests -----------------------------------------------------------------

# test runs the library's, mcpgo's and examples' tests against one
# Postgres container (their Postgres tests read MCPSESSION_TEST_POSTGRES_DSN,
# which withpostgres sets), then the integration module's, which start
# containers of their own so that the fault tests can stop and pause them.
.PHONY: test
test: goose withpostgres
	$(WITHPOSTGRES) -- $(MAKE) --no-print-directory test-unit
	$(MAKE) --no-print-directory test-integration

# test-unit and test-integration run one half of `make test` each, against
# whatever Postgres the environment names (or none: then its tests skip).
.PHONY: test-unit test-integration
test-unit:
	$(call each_module,$(UNIT_MODULES),go test $(GO_TEST_FLAGS) ./...)

test-integration: goose
	@rm -f '$(FAULT_REPORT)'
	$(call each_module,integration,go test $(GO_TEST_FLAGS) ./...)
	@if [ -s '$(FAULT_REPORT)' ]; then echo "==> what the fault tests measured"; cat '$(FAULT_REPORT)'; fi

# The fault tests append what they measured here; test-integration prints it.
FAULT_REPORT := $(BIN)/fault-report.txt

test test-unit test-integration: export MCPSESSION_GOOSE = $(GOOSE)
test test-integration: export MCPSESSION_FAULT_REPORT = $(FAULT_REPORT)

.PHONY: bench
bench:
	@if [ -d integration/cmd/benchreport ]; then \
		cd integration && go run ./cmd/benchreport; \
	else \
		echo "benchmarks not built yet" >&2; exit 1; \
	fi

# --- tools -------------------------------------------------------------------

.PHONY: goose
goose:
	@v='$(GOOSE_VERSION)'; \
	if [ -x '$(GOOSE)' ] && [ "$$('$(GOOSE)' --version 2>/dev/null)" = "goose version: $$v" ]; then exit 0; fi; \
	echo "==> building bin/goose $$v"; \
	GOBIN='$(BIN)' go install -tags '$(GOOSE_TAGS)' "github.com/pressly/goose/v3/cmd/goose@$$v"

.PHONY: staticcheck
staticcheck:
	@if [ -x '$(STATICCHECK)' ] && '$(STATICCHECK)' -version 2>/dev/null | grep -qF '($(STATICCHECK_VERSION:v%=%))'; then exit 0; fi; \
	echo "==> building bin/staticcheck $(STATICCHECK_VERSION)"; \
	GOBIN='$(BIN)' go install 'honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)'

.PHONY: withpostgres
withpostgres:
	@cd integration && go build -o '$(WITHPOSTGRES)' ./cmd/withpostgres

# --- lint --------------------------------------------------------------------

.PHONY: lint
lint: staticcheck
	@echo "==> gofmt -l"; \
	out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt would change:" >&2; echo "$$out" >&2; exit 1; fi
	$(call each_module,$(MODULES),go vet ./...)
	$(call each_module,$(MODULES),'$(STATICCHECK)' -checks '$(STATICCHECK_CHECKS)' ./...)

# --- Postgres image ------------------------------------------------------------

.PHONY: postgres-image
postgres-image:
	$(SUDO) integration/postgres-image/build.sh '$(IMAGE)'

# --- migrations with the goose CLI ----------------------------------------------

# migrate-up and migrate-down take DSN= as sqlstore.Open does: postgres://…,
# postgresql://… or sqlite:PATH. The DSN reaches goose through the
# environment and is never echoed: it may hold a password.
.PHONY: migrate-up migrate-down
migrate-up: GOOSE_COMMAND := up
migrate-down: GOOSE_COMMAND := down
migrate-up migrate-down: goose
	@case "$$DSN" in \
	postgres://* | postgresql://*) \
		driver=postgres; dir=migrations/postgres; target="$$DSN" ;; \
	sqlite::memory:*) \
		echo "make $@: sqlite::memory: is gone when goose exits; give a file, DSN=sqlite:PATH" >&2; exit 2 ;; \
	sqlite:?*) \
		driver=sqlite3; dir=migrations/sqlite; target="$${DSN#sqlite:}" ;; \
	"") \
		echo "make $@: set DSN, e.g. make $@ DSN=postgres://user@host:5432/db or DSN=sqlite:./sessions.db" >&2; exit 2 ;; \
	*) \
		echo "make $@: unsupported DSN: want postgres://…, postgresql://… or sqlite:PATH" >&2; exit 2 ;; \
	esac; \
	echo "==> goose $(GOOSE_COMMAND) ($$driver, $$dir, table mcpsession_db_version)"; \
	'$(GOOSE)' -table mcpsession_db_version -dir "$(CURDIR)/$$dir" "$$driver" "$$target" $(GOOSE_COMMAND)
