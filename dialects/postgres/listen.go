package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/mcpsession/mcpsession/internal/driver"
)

// Listens is true: LISTEN/NOTIFY.
func (pgDriver) Listens() bool { return true }

// Listen returns a Listener on a connection of its own, outside db's pool,
// opened with the settings of db's connections (pgx's ConnConfig of one of
// them: hosts, credentials, TLS, fallbacks), listening on the channel of
// the schema db's connections use. It so takes no connection from the
// pool the store's calls share.
func (pgDriver) Listen(ctx context.Context, db *sql.DB) (driver.Listener, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	var channel string
	var cfg *pgx.ConnConfig
	err = conn.QueryRowContext(ctx, `SELECT `+pgChannel).Scan(&channel)
	if err == nil {
		err = conn.Raw(func(dc any) error {
			c, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("postgres: a connection of type %T, not pgx's", dc)
			}
			cfg = c.Conn().Config()
			return nil
		})
	}
	_ = conn.Close() // back to the pool
	if err != nil {
		return nil, err
	}
	// The copy holds the pool connection's notification handler, which
	// would buffer this connection's notifications there: pgx installs its
	// own only when there is none.
	cfg.OnNotification = nil
	lc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	// channel is "mcpsession_" and hex digits: safe as an identifier. The
	// simple protocol: nothing prepared, whatever the DSN's exec mode.
	if _, err := lc.PgConn().Exec(ctx, `LISTEN "`+channel+`"`).ReadAll(); err != nil {
		closeListenConn(lc)
		return nil, err
	}
	return &pgListener{conn: lc}, nil
}

type pgListener struct {
	conn *pgx.Conn
}

func (l *pgListener) Wait(ctx context.Context) (string, error) {
	n, err := l.conn.WaitForNotification(ctx)
	if err != nil {
		return "", err
	}
	return n.Payload, nil
}

func (l *pgListener) Ping(ctx context.Context) error { return l.conn.Ping(ctx) }

// Close closes the connection.
func (l *pgListener) Close() error {
	closeListenConn(l.conn)
	return nil
}

// closeListenConn closes c, waiting a second at most for the server to hear
// it (a broken connection is closed at once).
func closeListenConn(c *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = c.Close(ctx)
}
