package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
)

// RunExpiry checks idle timeouts and max lifetimes on stores returned by
// open, which must return an empty store, not shared with any other call,
// that expires a session idle longer than idle (0: never) or created longer
// than lifetime ago (0: never). Like Run, it runs its subtests in parallel.
func RunExpiry(t *testing.T, open func(t *testing.T, idle, lifetime time.Duration) mcpsession.Store) {
	t.Helper()
	runExpiryRules(t, open)
}

func runExpiryRules(t *testing.T, open func(t *testing.T, idle, lifetime time.Duration) mcpsession.Store) {
	t.Helper()
	for _, c := range []struct {
		name string
		run  func(*testing.T, func(*testing.T, time.Duration, time.Duration) mcpsession.Store)
	}{
		{"IdleExpiry", testIdleExpiry},
		{"GetDoesNotSlide", testGetDoesNotSlide},
		{"WritesSlide", testWritesSlide},
		{"CleanupMatchesReads", testCleanupMatchesReads},
		{"MaxLifetime", testMaxLifetime},
		{"ModifyMarksUseWhenItWrites", testModifyMarksUseWhenItWrites},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, open)
		})
	}
}

// testIdleExpiry: once idle past the timeout a session is gone for every
// call, nothing brings it back, and its id can be created afresh.
func testIdleExpiry(t *testing.T, open func(*testing.T, time.Duration, time.Duration) mcpsession.Store) {
	ctx := t.Context()
	timing(t, func(p *pace) error {
		s := open(t, ttl, 0)
		id := mcpsession.NewID()
		start := time.Now()
		mustCreate(t, s, id, map[string]any{"old": true})
		_, err := s.Get(ctx, id)
		p.within(start, ttl)
		if err != nil {
			return fmt.Errorf("reading a new session: %w", err)
		}
		sleepPast(ctx, time.Now(), ttl)

		wantNotFound(t, s, id)
		wantErr(t, "Update of an expired session", s.Update(ctx, id, map[string]any{"new": 1}), mcpsession.ErrNotFound)
		if tc, ok := s.(mcpsession.Toucher); ok {
			wantErr(t, "Touch of an expired session", tc.Touch(ctx, id), mcpsession.ErrNotFound)
		}
		if mod, ok := s.(mcpsession.Modifier); ok {
			called := false
			err := mod.Modify(ctx, id, func(m map[string]any) (map[string]any, error) { called = true; return m, nil })
			wantErr(t, "Modify of an expired session", err, mcpsession.ErrNotFound)
			if called {
				return errors.New("modifying an expired session called the function")
			}
		}
		wantNotFound(t, s, id) // not resurrected by the failed writes

		// Create treats an expired id as free, and keeps nothing of the old session.
		start = time.Now()
		mustCreate(t, s, id, map[string]any{"new": true})
		got, err := s.Get(ctx, id)
		p.within(start, ttl)
		if err != nil {
			return fmt.Errorf("reading a session re-created over an expired one: %w", err)
		}
		if show(got) != `{"new":true}` {
			return fmt.Errorf("re-created session = %s; want {\"new\":true}", show(got))
		}
		return nil
	})
}

// testGetDoesNotSlide: reading a session does not keep it alive.
func testGetDoesNotSlide(t *testing.T, open func(*testing.T, time.Duration, time.Duration) mcpsession.Store) {
	s := open(t, ttl, 0)
	ctx := t.Context()
	id := mcpsession.NewID()
	mustCreate(t, s, id, nil)
	created := time.Now()
	for time.Since(created) < ttl*2/3 {
		if _, err := s.Get(ctx, id); err != nil {
			break // the machine stalled past the timeout; the end is the same
		}
		sleepPast(ctx, time.Now(), ttl/8)
	}
	sleepPast(ctx, created, ttl)
	wantNotFound(t, s, id)
}

// testWritesSlide: Update, Touch and Modify each keep a session alive past
// its first timeout.
func testWritesSlide(t *testing.T, open func(*testing.T, time.Duration, time.Duration) mcpsession.Store) {
	s := open(t, ttl, 0)
	ctx := t.Context()
	ops := map[string]func(id string) error{
		"Update": func(id string) error { return s.Update(ctx, id, map[string]any{"seen": true}) },
	}
	if tc, ok := s.(mcpsession.Toucher); ok {
		ops["Touch"] = func(id string) error { return tc.Touch(ctx, id) }
	}
	if mod, ok := s.(mcpsession.Modifier); ok {
		ops["Modify"] = func(id string) error {
			return mod.Modify(ctx, id, func(m map[string]any) (map[string]any, error) { return m, nil })
		}
	}
	for name, op := range ops {
		timing(t, func(p *pace) error {
			id := mcpsession.NewID()
			created := time.Now()
			mustCreate(t, s, id, nil)
			last := created
			// Keep writing every half timeout until twice the timeout has passed.
			for time.Since(created) < 2*ttl {
				sleepPast(ctx, time.Now(), ttl/2-25*time.Millisecond)
				err := op(id)
				p.within(last, ttl)
				if err != nil {
					return fmt.Errorf("%s %v after the last write: %w", name, time.Since(last), err)
				}
				last = time.Now()
			}
			_, err := s.Get(ctx, id)
			p.within(last, ttl)
			if err != nil {
				return fmt.Errorf("session kept alive by %s expired: %w", name, err)
			}
			return nil
		})
	}
}

// testCleanupMatchesReads: Cleanup with the idle timeout removes exactly
// the sessions Get reports as expired.
func testCleanupMatchesReads(t *testing.T, open func(*testing.T, time.Duration, time.Duration) mcpsession.Store) {
	if _, ok := open(t, ttl, 0).(mcpsession.Cleaner); !ok {
		t.Skip("store does not implement mcpsession.Cleaner")
	}
	ctx := t.Context()
	timing(t, func(p *pace) error {
		s := open(t, ttl, 0)
		c := s.(mcpsession.Cleaner)
		old := ids(5)
		for _, id := range old {
			mustCreate(t, s, id, nil)
		}
		sleepPast(ctx, time.Now(), ttl)
		for _, id := range old {
			wantNotFound(t, s, id)
		}
		fresh := ids(3)
		start := time.Now()
		for _, id := range fresh {
			mustCreate(t, s, id, nil)
		}
		n, err := c.Cleanup(ctx, ttl)
		if err != nil {
			return err
		}
		for _, id := range fresh {
			_, err := s.Get(ctx, id)
			p.within(start, ttl)
			if err != nil {
				return fmt.Errorf("fresh session after Cleanup: %w", err)
			}
		}
		if n != int64(len(old)) {
			return fmt.Errorf("Cleanup(%v) = %d; want the %d expired sessions", ttl, n, len(old))
		}
		for _, id := range fresh {
			if err := s.Delete(ctx, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// testMaxLifetime: a session busy all the time still ends at its max
// lifetime, for reads and for Cleanup.
func testMaxLifetime(t *testing.T, open func(*testing.T, time.Duration, time.Duration) mcpsession.Store) {
	const lifetime = ttl
	ctx := t.Context()
	timing(t, func(p *pace) error {
		s := open(t, 0, lifetime)
		c, _ := s.(mcpsession.Cleaner)
		id := mcpsession.NewID()
		created := time.Now()
		mustCreate(t, s, id, nil)
		// The store stamped created_at before Create returned: the
		// lifetime is over by then plus the lifetime, however slow the
		// call was.
		createdBy := time.Now()
		// Busy: written every few milliseconds until the lifetime is over.
		for time.Since(created) < lifetime/2 {
			if err := s.Update(ctx, id, map[string]any{"busy": time.Now().UnixNano()}); err != nil {
				p.within(created, lifetime)
				return fmt.Errorf("updating within the lifetime: %w", err)
			}
			sleepPast(ctx, time.Now(), lifetime/10)
		}
		sleepPast(ctx, createdBy, lifetime)
		wantNotFound(t, s, id)
		wantErr(t, "Update past the max lifetime", s.Update(ctx, id, nil), mcpsession.ErrNotFound)
		if c == nil {
			return nil
		}
		fresh := mcpsession.NewID()
		start := time.Now()
		mustCreate(t, s, fresh, nil)
		n, err := c.Cleanup(ctx, time.Hour) // idle for less than an hour, but past the lifetime
		if err != nil {
			return err
		}
		_, err = s.Get(ctx, fresh)
		p.within(start, lifetime)
		if err != nil {
			return fmt.Errorf("fresh session after Cleanup: %w", err)
		}
		if n != 1 {
			return fmt.Errorf("Cleanup(1h) with a %v max lifetime = %d; want 1", lifetime, n)
		}
		return s.Delete(ctx, fresh)
	})
}

// testModifyMarksUseWhenItWrites: Modify marks the session as used when it
// writes, not when it started: a session whose Modify function took half
// the timeout is alive for a whole timeout after Modify returned.
func testModifyMarksUseWhenItWrites(t *testing.T, open func(*testing.T, time.Duration, time.Duration) mcpsession.Store) {
	s := open(t, ttl, 0)
	mod, ok := s.(mcpsession.Modifier)
	if !ok {
		t.Skip("store does not implement mcpsession.Modifier")
	}
	ctx := t.Context()
	timing(t, func(p *pace) error {
		id := mcpsession.NewID()
		start := time.Now()
		mustCreate(t, s, id, nil)
		// The store writes after fn returns and before Modify does: the
		// write is no earlier than fnDone (and may be well before Modify
		// returns, behind a pooler under load).
		var fnDone time.Time
		err := mod.Modify(ctx, id, func(m map[string]any) (map[string]any, error) {
			sleepPast(ctx, time.Now(), ttl/2) // a slow function
			m["slow"] = true
			fnDone = time.Now()
			return m, nil
		})
		if err != nil {
			p.within(start, ttl)
			return fmt.Errorf("Modify: %w", err)
		}
		// Past a timeout since Modify started, within one since it wrote.
		sleepPast(ctx, fnDone, ttl*2/3)
		_, err = s.Get(ctx, id)
		p.within(fnDone, ttl)
		if err != nil {
			return fmt.Errorf("a session Modify wrote at most %v ago (Modify started %v ago), with a %v idle timeout: %w",
				time.Since(fnDone), time.Since(start), ttl, err)
		}
		return nil
	})
}
