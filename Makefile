# mcpsession: the commands CI and a newcomer run. `make help` lists them.
#
# The repository is a set of Go modules: the library (.), its adapters
# (mcpgo, gosdk), examples, the downstream test kit (mcpsessiontest) and the
# integration suite, which alone with the kit depend on Docker's client
# libraries (testcontainers-go). Targets that go over modules skip a
# module that has no packages yet.

SHELL := /bin/bash

# The modules are found, not listed: every directory with a go.mod. A new
# module needs only its go.mod (and a line in the go.work it joins).
MODULES := . $(filter-out .,$(patsubst ./%,%,$(patsubst %/go.mod,%,$(shell find . -name go.mod -not -path './bin/*' | LC_ALL=C sort))))

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
# mcpsessiontest looks for it under this name when the official image is
# neither on the engine nor pullable.
IMAGE ?= mcpsession-postgres:local
SUDO  := $(shell [ "$$(id -u)" = 0 ] || echo sudo --preserve-env=PG_IMAGE_MIRROR,PG_IMAGE_SUITE,PG_IMAGE_KEYRING,PG_IMAGE_KEEP_JIT,TMPDIR)

# --- release ---------------------------------------------------------------------
#
# Every module requires the repository's other modules at RELEASE_VERSION,
# the version they are tagged at together, and has no replace directive (a
# consumer ignores them); the go.work files serve the working tree for local
# development. Until RELEASE_VERSION is published, nothing serves it but a
# file-based module proxy made from the working tree (`make modproxy`,
# integration/cmd/modproxy), and the go commands that must resolve modules
# as a consumer does (go mod tidy, the release check) run with this
# environment (integration/release/env.sh):
#
#   GOWORK=off    the module alone, as a consumer sees it, not the workspace;
#   GOPROXY=file://$(MODPROXY_DIR),<the machine's GOPROXY>
#                 the repository's modules from that proxy, everything else
#                 from wherever the machine gets modules (read at run time);
#   GONOSUMDB=github.com/mcpsession/mcpsession
#                 the checksum database has never seen the repository's
#                 modules at an unpublished version; not GOPRIVATE, which
#                 would also bypass the proxy and go to the VCS host;
#   GOMODCACHE=<the user's cache dir>/mcpsession-release/…, GOFLAGS+=-modcacherw
#                 a module cache of their own, cleared of the repository's
#                 modules first: a cache keeps a version's content for good,
#                 and this version's changes with the working tree. Other
#                 modules come from the machine's module cache first.
#
# go.sum files keep no lines for the repository's own modules (see
# integration/release/tidy.sh): `make tidy` writes them that way and
# `make lint` checks them so.
RELEASE_VERSION := v0.1.0
MODPROXY_DIR    := $(BIN)/modproxy
RELEASE         := $(CURDIR)/integration/release
# The modules a consumer `go get`s besides the library: every module in
# MODULES but the library itself, the examples and the integration suite.
RELEASE_GET := $(filter-out . examples integration,$(MODULES))

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

# test runs every module's tests against one Postgres server: withpostgres
# starts it (through the test kit, mcpsessiontest, which picks the image and
# sets up testcontainers for this host) and names it in
# MCPSESSION_TEST_POSTGRES_DSN for the whole run, unless that names one
# already. Only the tests that stop, pause or cluster their servers start
# containers of their own. test-image first builds the offline image when
# the engine has no Postgres image and cannot pull one.
.PHONY: test
test: goose withpostgres test-image test-ha-image
	$(WITHPOSTGRES) -- $(MAKE) --no-print-directory test-modules

# test-modules runs every module's tests against whatever Postgres the
# environment names (or none: then the library's Postgres tests skip, and
# the kit and the integration suite start a container per test binary).
.PHONY: test-modules
test-modules: goose
	@rm -f '$(FAULT_REPORT)'
	$(call each_module,$(MODULES),go test $(GO_TEST_FLAGS) ./...)
	@if [ -s '$(FAULT_REPORT)' ]; then echo "==> what the fault tests measured"; cat '$(FAULT_REPORT)'; fi

# test-image: Docker is here, but it has neither the official Postgres image
# nor a registry to pull it from, and MCPSESSION_TEST_POSTGRES_IMAGE names
# none: build the offline image, which the tests then find. Without Docker
# there is nothing to do (the Postgres tests skip, or fail under
# MCPSESSION_REQUIRE_POSTGRES=1).
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

# The fault tests append what they measured here; test-modules prints it.
FAULT_REPORT := $(BIN)/fault-report.txt

test test-modules: export MCPSESSION_GOOSE = $(GOOSE)
test test-modules: export MCPSESSION_FAULT_REPORT = $(FAULT_REPORT)

.PHONY: bench
bench:
	@if [ -d integration/cmd/benchreport ]; then \
		cd integration && go run ./cmd/benchreport; \
	else \
		echo "benchmarks not built yet" >&2; exit 1; \
	fi

# capacity runs the load generator (integration/cmd/loadgen, see its doc):
# the capacity pass (the highest rate at p99 < 50 ms for 1, 2 and 4
# replicas of examples/mcpserver, with and without the cache and PgBouncer,
# beside the sticky mcp-go-in-memory ceiling), then the growth pass (10^4
# to 10^7 sessions), each into its section of BENCHMARKS.md. It needs
# PostgreSQL 15's binaries (Debian's postgresql-15) and PgBouncer, which it
# installs when missing. It prints its plan first; it takes under
# 30 minutes on two cores. Run it on a quiet machine. The churn soak is
# separate (an hour):
#   cd integration && go run ./cmd/loadgen -churn -duration 1h -rate 200 -report ../BENCHMARKS.md
# CAPACITY_FLAGS adds loadgen flags (e.g. -capacity-step 5s for a quick look).
CAPACITY_FLAGS ?=

.PHONY: capacity
capacity:
	@command -v pgbouncer >/dev/null || { echo "==> installing pgbouncer"; $(SUDO) apt-get install -y pgbouncer; }
	cd integration && go run ./cmd/loadgen -capacity -growth -report ../BENCHMARKS.md $(CAPACITY_FLAGS)

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

# tidy runs go mod tidy in every module as lint checks it.
.PHONY: tidy
tidy: modproxy
	$(call each_module,$(MODULES),'$(RELEASE)/tidy.sh' write '$(MODPROXY_DIR)')

# modproxy writes the release proxy: every module at RELEASE_VERSION, from
# the working tree. It refuses replace directives and requirements of our
# modules at other versions.
.PHONY: modproxy
modproxy:
	@cd integration && go run ./cmd/modproxy -repo .. -version '$(RELEASE_VERSION)' -out '$(MODPROXY_DIR)' >/dev/null

# release-check builds a consumer module outside the repository against
# the release proxy: go get of the library and of $(RELEASE_GET), the
# README's snippets as a program, a test on the test kit
# (integration/release/check.sh).
.PHONY: release-check
release-check: modproxy
	@'$(RELEASE)/check.sh' '$(MODPROXY_DIR)' '$(RELEASE_VERSION)' '$(CURDIR)/README.md' $(RELEASE_GET)

# --- Postgres image ------------------------------------------------------------

.PHONY: postgres-image
postgres-image:
	$(SUDO) integration/postgres-image/build.sh '$(IMAGE)'

# The production-Postgres tests (integration/pgbouncer, the failover and
# Patroni tests of integration/faults, BenchmarkExecMode) run PgBouncer,
# streaming standbys, Patroni, etcd and HAProxy: the same image with those
# Debian packages added.
HA_IMAGE ?= mcpsession-postgres-ha:local
HA_PACKAGES := pgbouncer,patroni,etcd-server,haproxy,python3-psycopg2,python3-urllib3,python3-yaml

.PHONY: ha-image
ha-image:
	$(SUDO) env PG_IMAGE_EXTRA_PACKAGES='$(HA_PACKAGES)' integration/postgres-image/build.sh '$(HA_IMAGE)'

# test-ha-image builds $(HA_IMAGE) for `make test` when Docker is here
# without it (no registry has it) and MCPSESSION_TEST_HA_IMAGE names no other.
.PHONY: test-ha-image
test-ha-image:
	@if [ -n "$$MCPSESSION_TEST_HA_IMAGE" ] || ! docker info >/dev/null 2>&1; then exit 0; fi; \
	if docker image inspect '$(HA_IMAGE)' >/dev/null 2>&1; then echo "==> production-Postgres tests use $(HA_IMAGE)"; exit 0; fi; \
	echo "==> building $(HA_IMAGE) for the production-Postgres tests"; \
	$(MAKE) --no-print-directory ha-image

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
