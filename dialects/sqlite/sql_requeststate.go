package sqlite

import "github.com/mcpsession/mcpsession/internal/driver"

// The statements are those of Postgres but for the placeholders and the
// times, which are Unix milliseconds as they come.
var requestState = driver.RequestStateStatements{
	PutKey: `INSERT INTO mcp_requeststate_keys (epoch, key, retire_at) VALUES (?1, ?2, ?3)
ON CONFLICT (epoch) DO UPDATE SET retire_at = max(mcp_requeststate_keys.retire_at, excluded.retire_at)
RETURNING key`,
	Key: `SELECT key FROM mcp_requeststate_keys WHERE epoch = ?1`,
	Use: `INSERT INTO mcp_requeststate_used (id, expires_at) VALUES (?1, ?2)
ON CONFLICT (id) DO NOTHING`,
	TrimUsed: `DELETE FROM mcp_requeststate_used WHERE id IN (
  SELECT id FROM mcp_requeststate_used WHERE expires_at <= ?1 ORDER BY expires_at LIMIT ?2)`,
	TrimKeys: `DELETE FROM mcp_requeststate_keys WHERE retire_at <= ?1`,
}

func (sqliteDriver) RequestState() *driver.RequestStateStatements { return &requestState }
