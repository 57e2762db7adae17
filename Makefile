# mcpsession: the commands CI and a newcomer run. `make help` lists them.

SHELL := /bin/bash

# The modules are found, not listed: every directory with a go.mod.
MODULES := . $(filter-out .,$(patsubst ./%,%,$(patsubst %/go.mod,%,$(shell find . -name go.mod -not -path './bin/*' | LC_ALL=C sort))))

BIN := $(CURDIR)/bin

# -count=1: results depend on databases the test cache cannot see.
GO_TEST_FLAGS ?= -race -count=1

# The goose CLI at the library's version, without drivers we do not use.
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

# --- release -------------------------------------------------------------
# Every module requires the others at RELEASE_VERSION with no replace; until
# it is published, a file-based proxy made from the working tree serves it
# (make modproxy), and integration/release/env.sh says how the go command is
# pointed at it, as a consumer resolves modules.
RELEASE_VERSION := v0.1.0
MODPROXY_DIR    := $(BIN)/modproxy
RELEASE         := $(CURDIR)/integration/release
# What a consumer `go get`s besides the library.
RELEASE_GET := $(filter-out . examples integration,$(MODULES))

# each_module runs $(2) in every module of $(1), stopping at a failure.
define each_module
	@set -e; for m in $(1); do echo "==> $$m: $(2)"; \
		(cd "$$m" && $(2)) || { echo "make: '$(2)' failed in module $$m" >&2; exit 1; }; done
endef

.PHONY: help
help:
	@echo 'make test            all tests of all modules; Postgres in containers when Docker is here (see README, Testing)'
	@echo 'make lint            gofmt, go vet, staticcheck and go mod tidy -diff on all modules'
	@echo 'make release-check   build a consumer of the modules at $(RELEASE_VERSION), as released, and the README snippets'
	@echo 'make tidy            go mod tidy in all modules, as a consumer resolves them'
	@echo 'make bench           benchmarks, written to BENCHMARKS.md'
	@echo 'make capacity        open-loop capacity and growth passes over Postgres, written to BENCHMARKS.md (~30 min)'
	@echo 'make postgres-image  build $(IMAGE) from Debian packages, for hosts without a registry'
	@echo 'make ha-image        build $(HA_IMAGE): the same with PgBouncer, Patroni, etcd and HAProxy'
	@echo 'make migrate-up   DSN=postgres://…|sqlite:PATH   apply the migrations with the goose CLI'
	@echo 'make migrate-down DSN=postgres://…|sqlite:PATH   roll the latest one back'

# --- tests -----------------------------------------------------------------

# test runs every module's tests against one Postgres server, which
# withpostgres starts through the test kit unless the environment names one.
.PHONY: test
test: goose withpostgres test-image test-ha-image
	$(WITHPOSTGRES) -- $(MAKE) --no-print-directory test-modules

.PHONY: test-modules
test-modules: goose
	@rm -f '$(FAULT_REPORT)'
	$(call each_module,$(MODULES),go test $(GO_TEST_FLAGS) ./...)
	@if [ -s '$(FAULT_REPORT)' ]; then echo "==> what the fault tests measured"; cat '$(FAULT_REPORT)'; fi

# test-image builds the offline image when Docker has no Postgres image and
# cannot pull one.
.PHONY: test-image
test-image: withpostgres
	@rc=0; img="$$('$(WITHPOSTGRES)' -image 2>/dev/null)" || rc=$$?; \
	case $$rc in \
	0) echo "==> Postgres tests use $$img" ;; \
	3) echo "==> no Docker engine: the Postgres tests skip" ;; \
	4) echo "==> Docker has no Postgres image and cannot pull one: building $(IMAGE)"; \
	   $(MAKE) --no-print-directory postgres-image ;; \
	*) exit $$rc ;; \
	esac

FAULT_REPORT := $(BIN)/fault-report.txt

test test-modules: export MCPSESSION_GOOSE = $(GOOSE)
test test-modules: export MCPSESSION_FAULT_REPORT = $(FAULT_REPORT)

.PHONY: bench
bench:
	cd integration && go run ./cmd/benchreport

# capacity: the open-loop capacity and growth passes of
# integration/cmd/loadgen into BENCHMARKS.md (under 30 minutes; run it on a
# quiet machine). The hour's churn soak: cd integration && go run
# ./cmd/loadgen -churn -duration 1h -report ../BENCHMARKS.md
CAPACITY_FLAGS ?=
# The mix the sticky in-memory ceiling can serve too: no tasks, no sealed
# requests (and mcp-go v1.6.0 cuts a legacy POST that a task's status
# reaches; see docs/adapters.md, Limits).
CAPACITY_MIX ?= legacy.abandon=0.4,legacy.counter=6,legacy.delete=0.6,legacy.initialize=1,legacy.listen=0.5,legacy.notify=1,legacy.whoami=2,sessionless.counter=6,sessionless.counter-new=1,sessionless.whoami=1

.PHONY: capacity
capacity:
	@command -v pgbouncer >/dev/null || { echo "==> installing pgbouncer"; $(SUDO) apt-get install -y pgbouncer; }
	cd integration && go run ./cmd/loadgen -capacity -growth -report ../BENCHMARKS.md -mix '$(CAPACITY_MIX)' $(CAPACITY_FLAGS)

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
lint: staticcheck modproxy
	@echo "==> gofmt -l"; \
	out="$$(gofmt -l .)"; \
	if [ -n "$$out" ]; then echo "gofmt would change:" >&2; echo "$$out" >&2; exit 1; fi
	$(call each_module,$(MODULES),go vet ./...)
	$(call each_module,$(MODULES),'$(STATICCHECK)' -checks '$(STATICCHECK_CHECKS)' ./...)
	$(call each_module,$(MODULES),'$(RELEASE)/tidy.sh' check '$(MODPROXY_DIR)')

.PHONY: tidy
tidy: modproxy
	$(call each_module,$(MODULES),'$(RELEASE)/tidy.sh' write '$(MODPROXY_DIR)')

.PHONY: modproxy
modproxy:
	@cd integration && go run ./cmd/modproxy -repo .. -version '$(RELEASE_VERSION)' -out '$(MODPROXY_DIR)' >/dev/null

# release-check builds a consumer of the released modules and the README
# snippets (integration/release/check.sh).
.PHONY: release-check
release-check: modproxy
	@'$(RELEASE)/check.sh' '$(MODPROXY_DIR)' '$(RELEASE_VERSION)' '$(CURDIR)/README.md' $(RELEASE_GET)

# --- Postgres image ------------------------------------------------------------

.PHONY: postgres-image
postgres-image:
	$(SUDO) integration/postgres-image/build.sh '$(IMAGE)'

# The production-Postgres tests' image: PgBouncer, Patroni, etcd, HAProxy.
HA_IMAGE ?= mcpsession-postgres-ha:local
HA_PACKAGES := pgbouncer,patroni,etcd-server,haproxy,python3-psycopg2,python3-urllib3,python3-yaml

.PHONY: ha-image
ha-image:
	$(SUDO) env PG_IMAGE_EXTRA_PACKAGES='$(HA_PACKAGES)' integration/postgres-image/build.sh '$(HA_IMAGE)'

.PHONY: test-ha-image
test-ha-image:
	@if [ -n "$$MCPSESSION_TEST_HA_IMAGE" ] || ! docker info >/dev/null 2>&1; then exit 0; fi; \
	if docker image inspect '$(HA_IMAGE)' >/dev/null 2>&1; then echo "==> production-Postgres tests use $(HA_IMAGE)"; exit 0; fi; \
	echo "==> building $(HA_IMAGE) for the production-Postgres tests"; \
	$(MAKE) --no-print-directory ha-image

# --- migrations with the goose CLI ----------------------------------------------

# DSN=postgres://… or sqlite:PATH, never echoed (it may hold a password).
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
