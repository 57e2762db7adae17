package adapter

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcpsession/mcpsession"
)

// A store outage logs one line a second, not one per failed request, and
// says how many it left out.
func TestStoreFailedRateLimited(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		c, err := New(Config{Name: "test", Store: nopStore{}, Settings: Settings{Logger: slog.New(slog.NewTextHandler(&buf, nil))}})
		if err != nil {
			t.Fatal(err)
		}
		outage := errors.New("connection refused")
		for range 500 {
			c.StoreFailed(context.Background(), "reading a session", outage)
			time.Sleep(2 * time.Millisecond) // 500 failures over a second
		}
		time.Sleep(time.Second)
		c.StoreFailed(context.Background(), "reading a session", outage)
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("%d lines for 501 failures over 2 s; want 2:\n%s", len(lines), buf.String())
		}
		if !strings.Contains(lines[1], "failures_not_logged=") || !strings.Contains(lines[0], "connection refused") {
			t.Fatalf("lines:\n%s", buf.String())
		}
	})
}

// nopStore is a Store that holds nothing, for a Core whose store is never
// called.
type nopStore struct{}

func (nopStore) Create(context.Context, string, map[string]any) error { return nil }
func (nopStore) Get(context.Context, string) (map[string]any, error) {
	return nil, mcpsession.ErrNotFound
}
func (nopStore) Update(context.Context, string, map[string]any) error { return nil }
func (nopStore) Delete(context.Context, string) error                 { return nil }
