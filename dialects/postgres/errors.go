package postgres

import (
	"errors"
	"github.com/mcpsession/mcpsession/internal/driver"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// ClassifyError sorts a pgx error into what a caller can do about it. The
// server's SQLSTATE decides when there is one:
//
//   - class 08 (connection exception, also what PgBouncer sends when it
//     cannot reach a server), 57P01 admin_shutdown, 57P02 crash_shutdown,
//     57P03 cannot_connect_now (starting up, shutting down, or a standby
//     not yet accepting connections) and 53300 too_many_connections:
//     ErrorUnavailable;
//   - 25006 read_only_sql_transaction (a write on a hot standby, or in a
//     read-only session): ErrorReadOnly.
//
// Without one, a connection that could not be made (refused, timed out,
// no host of a multi-host DSN writable for target_session_attrs) or broke
// during the call (EOF, reset) is ErrorUnavailable.
func (pgDriver) ClassifyError(err error) driver.ErrorKind {
	if err == nil {
		return driver.ErrorOther
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "25006":
			return driver.ErrorReadOnly
		case strings.HasPrefix(pgErr.Code, "08"),
			pgErr.Code == "57P01", pgErr.Code == "57P02", pgErr.Code == "57P03",
			pgErr.Code == "53300":
			return driver.ErrorUnavailable
		}
		// Any other answer from the server (a bad password, a missing
		// table, a constraint) is not cured by trying again.
		return driver.ErrorOther
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return driver.ErrorUnavailable
	}
	return driver.ClassifyTransport(err)
}
