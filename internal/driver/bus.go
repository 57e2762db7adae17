package driver

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
)

// BusStatements is the SQL of package bus: messages in mcp_bus, kept a
// short while, read by every replica in id order.
type BusStatements struct {
	// Publish(topic, payload) inserts a message and returns its id. On
	// Postgres it also wakes, at commit, every Listener of the store's
	// schema, with the id as the notification's payload.
	Publish string

	// Read(after, limit) selects id, topic and payload of up to limit
	// messages whose id is greater than after, in id order.
	Read string

	// ReadIDs(ids) selects id, topic and payload of the messages whose
	// ids are in ids, a JSON array of numbers.
	ReadIDs string

	// Last selects the greatest id there is, or 0.
	Last string

	// Trim(age, limit) deletes up to limit messages older than age
	// milliseconds, walking the created_at index.
	Trim string
}

// ErrNoListen means the database wakes no listeners: SQLite, where every
// reader polls.
var ErrNoListen = errors.New("driver: the database has no LISTEN")

// A Listener receives the wake-ups of one store's schema on a connection of
// its own: the payloads of package bus's messages (their ids) and the wake
// keys (WakeKey) that writes send. It is not safe for concurrent use.
type Listener interface {
	// Wait blocks until the next notification and returns its payload.
	// When ctx ends it returns ctx.Err() and the Listener stays usable;
	// any other error means the connection broke, and the Listener must
	// be closed.
	Wait(ctx context.Context) (string, error)

	// Ping checks that the connection still works.
	Ping(ctx context.Context) error

	// Close releases the connection (for good, after an error).
	Close() error
}

// WakeKey returns the key a write sends its listeners for one record
// (kind 'e' for a session's events, 's' for a session's metadata): kind,
// a colon and the first 16 hex digits of the MD5 of id. It is what the
// drivers' SQL computes, and keeps ids, which are bearer credentials, out
// of notifications.
func WakeKey(kind byte, id string) string {
	var b [WakeKeyLen]byte
	return string(AppendWakeKey(b[:0], kind, id))
}

// WakeKeyLen is the length of every WakeKey.
const WakeKeyLen = 2 + 16

// AppendWakeKey appends WakeKey(kind, id) to dst, for callers that look
// keys up without making a string of them.
func AppendWakeKey(dst []byte, kind byte, id string) []byte {
	sum := md5.Sum([]byte(id))
	dst = append(dst, kind, ':')
	return hex.AppendEncode(dst, sum[:8])
}
