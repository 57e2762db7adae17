// Command withpostgres runs a command with MCPSESSION_TEST_POSTGRES_DSN
// pointing at a fresh PostgreSQL container, and terminates the container
// when the command ends:
//
//	go run ./cmd/withpostgres -- go test -race ./...          (from integration/)
//	go run github.com/mcpsession/mcpsession/integration/cmd/withpostgres -- make test-modules
//
// The container comes from the image in MCPSESSION_TEST_POSTGRES_IMAGE
// (default postgres:17-alpine), started as the integration tests start
// theirs (package internal/pgtest). The DSN is the superuser's; tests that
// use internal/testdb create a schema of their own in it.
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
