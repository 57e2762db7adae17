// Package storetest is the conformance kit for mcpsession stores: it checks
// every rule of the contract against any [mcpsession.Store], so that all
// implementations (the SQL store on Postgres and SQLite, or one you write
// for Redis) behave identically.
//
// Call [Run] from a test with a function that opens a fresh, empty store
// for each subtest:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) mcpsession.Store {
//			s, err := sqlstore.Open(t.Context(), sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// Run checks Create, Get, Update, Delete, bad input, concurrency, and, when
// the store implements them, the Cleaner, Toucher and Modifier rules, and
// those of GetShared (a read without a copy, which the adapters use when a
// store has it). The store must have default settings: no expiry, and a 1 MiB metadata limit.
// [RunExpiry] checks idle timeouts and max lifetimes; it needs a function
// that opens a store with given limits. Subtests run in parallel, so the
// stores open must not share data.
//
// Expiry is measured on the store's clock (the database's), so the expiry
// checks wait for real time to pass, a few hundred milliseconds at a time.
// A check that expects a session to be still alive cannot hold if the
// machine stalls for longer than the timeout; such a run is detected by its
// timing and tried again, up to three times, rather than reported.
package storetest
