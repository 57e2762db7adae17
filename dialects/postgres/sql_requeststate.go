package postgres

import "github.com/mcpsession/mcpsession/internal/driver"

// pgMillis is the timestamptz of the Unix milliseconds in placeholder p,
// computed in integers so that no millisecond is lost to a float.
func pgMillis(p string) string {
	return `(timestamptz 'epoch' + ` + p + `::bigint * interval '1 millisecond')`
}

var requestState = driver.RequestStateStatements{
	// DO UPDATE rather than DO NOTHING, so that RETURNING yields the
	// row either way: the winner's key, in one statement. A concurrent
	// insert of the same epoch is waited for, then updated.
	PutKey: `INSERT INTO mcp_requeststate_keys AS k (epoch, key, retire_at) VALUES ($1, $2, ` + pgMillis("$3") + `)
ON CONFLICT (epoch) DO UPDATE SET retire_at = greatest(k.retire_at, EXCLUDED.retire_at)
RETURNING k.key`,
	Key: `SELECT key FROM mcp_requeststate_keys WHERE epoch = $1`,
	Use: `INSERT INTO mcp_requeststate_used (id, expires_at) VALUES ($1, ` + pgMillis("$2") + `)
ON CONFLICT (id) DO NOTHING`,
	TrimUsed: `DELETE FROM mcp_requeststate_used WHERE id IN (
  SELECT id FROM mcp_requeststate_used WHERE expires_at <= ` + pgMillis("$1") + ` ORDER BY expires_at LIMIT $2)`,
	TrimKeys: `DELETE FROM mcp_requeststate_keys WHERE retire_at <= ` + pgMillis("$1"),
}

func (pgDriver) RequestState() *driver.RequestStateStatements { return &requestState }
