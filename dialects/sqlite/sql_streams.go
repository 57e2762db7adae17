package sqlite

import "github.com/mcpsession/mcpsession/internal/driver"

var sqliteBus = driver.BusStatements{
	Publish: `INSERT INTO mcp_bus (topic, payload, created_at) VALUES (?1, ?2, ` + sqliteNow + `) RETURNING id`,
	Read:    `SELECT id, topic, payload FROM mcp_bus WHERE id > ?1 ORDER BY id LIMIT ?2`,
	ReadIDs: `SELECT id, topic, payload FROM mcp_bus WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id`,
	Last:    `SELECT coalesce(max(id), 0) FROM mcp_bus`,
	Trim: `DELETE FROM mcp_bus WHERE id IN (
  SELECT id FROM mcp_bus WHERE created_at < ` + sqliteNow + ` - ?1 ORDER BY created_at LIMIT ?2)`,
}

// sqliteLiveSession is "the session ?1 is live".
func sqliteLiveSession(idle, lifetime string) string {
	return `EXISTS (SELECT 1 FROM mcp_sessions WHERE mcp_sessions.id = ?1 AND ` + sqliteLive("mcp_sessions", idle, lifetime) + `)`
}

// The statements are those of Postgres but for the placeholders, and for
// what SQLite has no part of: no NOTIFY (readers poll), and no foreign keys
// (they would need a pragma on every connection): a trigger deletes a
// session's streams and events with it (migration 00004).
var sqliteEvents = driver.EventStatements{
	Open: `INSERT INTO mcp_streams (session_id, stream_id, next_pos)
SELECT ?1, ?2, 0 WHERE ` + sqliteLiveSession("?3", "?4") + `
ON CONFLICT (session_id, stream_id) DO UPDATE SET next_pos = mcp_streams.next_pos
RETURNING 1`,
	Next: `INSERT INTO mcp_streams (session_id, stream_id, next_pos)
SELECT ?1, ?2, 1 WHERE ` + sqliteLiveSession("?3", "?4") + `
ON CONFLICT (session_id, stream_id) DO UPDATE SET next_pos = mcp_streams.next_pos + 1
RETURNING next_pos - 1`,
	Insert: `INSERT INTO mcp_events (session_id, stream_id, pos, data) VALUES (?1, ?2, ?3, ?4) RETURNING seq`,
	Count: `INSERT INTO mcp_event_sessions (session_id, events) VALUES (?1, 1)
ON CONFLICT (session_id) DO UPDATE SET events = mcp_event_sessions.events + 1
RETURNING events`,
	Trim: `DELETE FROM mcp_events WHERE session_id = ?1 AND seq <= (
  SELECT seq FROM mcp_events WHERE session_id = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)`,
	Recount: `UPDATE mcp_event_sessions SET events = (SELECT count(*) FROM mcp_events WHERE session_id = ?1) WHERE session_id = ?1`,
	After:   `SELECT seq, pos, data FROM mcp_events WHERE session_id = ?1 AND stream_id = ?2 AND pos > ?3 ORDER BY pos`,
	SincePriming: `SELECT seq, pos, data FROM mcp_events WHERE session_id = ?1 AND stream_id = ?2 AND pos < ?3
AND pos > COALESCE((SELECT max(p.pos) FROM mcp_events AS p
  WHERE p.session_id = ?1 AND p.stream_id = ?2 AND p.pos < ?3 AND p.data IS NULL), -1)
ORDER BY pos`,
	Bounds: `SELECT st.next_pos, (SELECT min(e.pos) FROM mcp_events AS e WHERE e.session_id = st.session_id AND e.stream_id = st.stream_id)
FROM mcp_streams AS st WHERE st.session_id = ?1 AND st.stream_id = ?2`,
	Find: `SELECT stream_id, pos FROM mcp_events WHERE session_id = ?1 AND seq = ?2`,
	Purge: []string{
		`DELETE FROM mcp_events WHERE session_id = ?1`,
		`DELETE FROM mcp_streams WHERE session_id = ?1`,
		`DELETE FROM mcp_event_sessions WHERE session_id = ?1`,
	},
}
