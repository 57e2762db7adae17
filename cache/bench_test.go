package cache_test

import (
	"testing"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/optional"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// BenchmarkHit reads one cached session of about 500 bytes: through Get,
// which copies it for the caller, and GetShared, which does not.
// integration/bench measures the cache beside the raw driver and Redis;
// this is the hit alone.
func BenchmarkHit(b *testing.B) {
	r := newReplica(b, testdb.SQLiteFile(b), nil)
	ctx := b.Context()
	id := mcpsession.NewID()
	md := map[string]any{
		"protocolVersion": "2025-11-25",
		"clientInfo":      map[string]any{"name": "claude-code", "title": "Claude Code", "version": "1.0.72"},
		"clientCapabilities": map[string]any{
			"roots": map[string]any{"listChanged": true}, "sampling": map[string]any{}, "elicitation": map[string]any{},
		},
		"serverCapabilities": map[string]any{
			"logging": map[string]any{}, "prompts": map[string]any{"listChanged": true},
			"resources": map[string]any{"subscribe": true, "listChanged": true}, "tools": map[string]any{"listChanged": true},
		},
		"logLevel": "info", "initialized": true, "tenant": "acme-prod-eu-west-1",
	}
	if err := r.raw.Create(ctx, id, md); err != nil {
		b.Fatal(err)
	}
	for name, get := range map[string]func() error{
		"Get":       func() error { _, err := r.cache.Get(ctx, id); return err },
		"GetShared": func() error { _, err := r.cache.(optional.SharedGetter).GetShared(ctx, id); return err },
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := get(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
