package bench

import (
	"context"
	"fmt"
	"testing"

	"github.com/mcpsession/mcpsession/sqlstore"
)

// growthRows are the table sizes Get is timed on.
var growthRows = []int{10_000, 1_000_000}

// BenchmarkGetGrowth times Get of random live sessions (500 B metadata) on
// a table of 10,000 and of 1,000,000 rows: what the table's size costs a
// lookup by primary key once it no longer fits in the caches as a whole.
// The raw baseline runs beside the store to tell the database's share from
// the store's.
func BenchmarkGetGrowth(b *testing.B) {
	doc := jsonText(b, metadata(sizeSmall))
	for _, dialect := range availableDialects(b) {
		for _, rows := range growthRows {
			db := openDatabase(b, dialect, sqlstore.WithIdleTimeout(idleTimeout), sqlstore.WithMaxLifetime(maxLifetime))
			const batch = 250_000
			for from := 0; from < rows; from += batch {
				db.seed(b, "r", from, min(batch, rows-from), doc, 0)
			}
			db.vacuum(b)
			ids := idsFor("r", rows)
			for _, impl := range []struct {
				name string
				s    sessions
			}{{"store", db.store}, {"raw", db.raw}} {
				b.Run(fmt.Sprintf("dialect=%s/impl=%s/rows=%d", dialect, impl.name, rows), func(b *testing.B) {
					run(b, 1, func(ctx context.Context, i int) error {
						_, err := impl.s.Get(ctx, ids[mix(uint64(i))%uint64(rows)])
						return err
					})
				})
			}
		}
	}
}

// mix is splitmix64's finaliser: consecutive iterations read rows spread
// over the whole table, the same sequence for every implementation.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
