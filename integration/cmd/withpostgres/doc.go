// Command withpostgres runs a command with MCPSESSION_TEST_POSTGRES_DSN
// pointing at a fresh PostgreSQL container, and terminates the container
// when the command ends:
//
//	go run ./cmd/withpostgres -- go test -race ./...          (from integration/)
//	go run github.com/mcpsession/mcpsession/integration/cmd/withpostgres -- make test-modules
//
// The container is started as every test of the project starts its own,
// by the test kit mcpsessiontest: its image is MCPSESSION_TEST_POSTGRES_IMAGE,
// or the one the kit chooses by asking the Docker engine
// (postgres:17-alpine if the engine has it or can pull it, else
// mcpsession-postgres:local if it has that), and the kit sets up
// testcontainers for the host (the Ryuk reaper off where its image cannot be
// pulled, the host override where needed); the line withpostgres prints
// says what it set. The DSN is the superuser's; tests that use
// internal/testdb create a schema of their own in it.
//
//	withpostgres -image
//
// prints the image a container would be started from and exits 0; when
// there is none it says why and exits 3 (no Docker engine: the Postgres
// tests skip) or 4 (an engine, but no image it has or can pull: build one
// with `make postgres-image`). `make test` uses it to decide whether to
// build the offline image.
//
// When MCPSESSION_TEST_POSTGRES_DSN is already set, the command runs
// against that server and no container is started. When there is neither
// a DSN nor a Docker engine, withpostgres says so in one line and runs the
// command without Postgres, whose Postgres tests then skip; under
// MCPSESSION_REQUIRE_POSTGRES=1 it fails instead, without running it.
//
// The command's exit code is passed through (128+N when it is killed by
// signal N). SIGINT, SIGTERM, SIGHUP and SIGQUIT are forwarded to it, and
// the container is terminated however the command ends. The DSN holds a
// password and is never printed.
package main
