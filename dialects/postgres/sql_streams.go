package postgres

import (
	"fmt"

	"github.com/mcpsession/mcpsession/internal/driver"
)

// pgChannel is the NOTIFY channel of the store's schema (the first of the
// search_path, where its tables are): stores in different schemas of one
// database do not wake each other.
const pgChannel = `'mcpsession_' || substr(md5(current_schema()), 1, 16)`

// pgWakeKey is WakeKey(kind, id) computed in SQL.
func pgWakeKey(kind byte, id string) string {
	return fmt.Sprintf(`'%c:' || substr(md5(%s), 1, 16)`, kind, id)
}

// pgLiveSession is "the session $1 is live", given the placeholders of the
// idle timeout and max lifetime.
func pgLiveSession(idle, lifetime string) string {
	return `EXISTS (SELECT 1 FROM mcp_sessions AS s WHERE s.id = $1 AND ` + pgLive(idle, lifetime) + `)`
}

var postgresBus = driver.BusStatements{
	// pg_notify in a lateral subquery runs once per inserted row; the
	// notification is sent at commit, after the row is visible.
	Publish: `WITH m AS (
  INSERT INTO mcp_bus (topic, payload, created_at) VALUES ($1, $2, clock_timestamp()) RETURNING id)
SELECT m.id FROM m CROSS JOIN LATERAL (SELECT pg_notify(` + pgChannel + `, m.id::text)) AS n`,
	Read:    `SELECT id, topic, payload FROM mcp_bus WHERE id > $1 ORDER BY id LIMIT $2`,
	ReadIDs: `SELECT id, topic, payload FROM mcp_bus WHERE id IN (SELECT value::bigint FROM jsonb_array_elements_text($1::jsonb)) ORDER BY id`,
	Last:    `SELECT coalesce(max(id), 0) FROM mcp_bus`,
	Trim: `DELETE FROM mcp_bus WHERE id IN (
  SELECT id FROM mcp_bus WHERE created_at < now() - $1::bigint * interval '1 millisecond' ORDER BY created_at LIMIT $2)`,
}

var postgresEvents = driver.EventStatements{
	Open: `INSERT INTO mcp_streams AS st (session_id, stream_id, next_pos)
SELECT $1, $2, 0 WHERE ` + pgLiveSession("$3", "$4") + `
ON CONFLICT (session_id, stream_id) DO UPDATE SET next_pos = st.next_pos
RETURNING 1`,
	Next: `INSERT INTO mcp_streams AS st (session_id, stream_id, next_pos)
SELECT $1, $2, 1 WHERE ` + pgLiveSession("$3", "$4") + `
ON CONFLICT (session_id, stream_id) DO UPDATE SET next_pos = st.next_pos + 1
RETURNING next_pos - 1`,
	Insert: `WITH e AS (
  INSERT INTO mcp_events (session_id, stream_id, pos, data) VALUES ($1, $2, $3, $4) RETURNING seq)
SELECT e.seq FROM e CROSS JOIN LATERAL (SELECT pg_notify(` + pgChannel + `, ` + pgWakeKey('e', "$1::text") + `)) AS n`,
	Count: `INSERT INTO mcp_event_sessions AS c (session_id, events) VALUES ($1, 1)
ON CONFLICT (session_id) DO UPDATE SET events = c.events + 1
RETURNING events`,
	Trim: `DELETE FROM mcp_events WHERE session_id = $1 AND seq <= (
  SELECT seq FROM mcp_events WHERE session_id = $1 ORDER BY seq DESC OFFSET $2 LIMIT 1)`,
	Recount: `UPDATE mcp_event_sessions SET events = (SELECT count(*) FROM mcp_events WHERE session_id = $1) WHERE session_id = $1`,
	After:   `SELECT seq, pos, data FROM mcp_events WHERE session_id = $1 AND stream_id = $2 AND pos > $3 ORDER BY pos`,
	SincePriming: `SELECT seq, pos, data FROM mcp_events WHERE session_id = $1 AND stream_id = $2 AND pos < $3
AND pos > COALESCE((SELECT max(p.pos) FROM mcp_events AS p
  WHERE p.session_id = $1 AND p.stream_id = $2 AND p.pos < $3 AND p.data IS NULL), -1)
ORDER BY pos`,
	Bounds: `SELECT st.next_pos, (SELECT min(e.pos) FROM mcp_events AS e WHERE e.session_id = st.session_id AND e.stream_id = st.stream_id)
FROM mcp_streams AS st WHERE st.session_id = $1 AND st.stream_id = $2`,
	Find: `SELECT stream_id, pos FROM mcp_events WHERE session_id = $1 AND seq = $2`,
	// The events go with their streams (ON DELETE CASCADE).
	Purge: []string{
		`DELETE FROM mcp_streams WHERE session_id = $1`,
		`DELETE FROM mcp_event_sessions WHERE session_id = $1`,
	},
}
