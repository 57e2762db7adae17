// Package logredact keeps session ids, which are bearer credentials, out
// of the logs the SDK adapters and the SDKs write.
package logredact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"strings"
)

// Handler returns a handler that passes records to h with every
// session id replaced by a digest ("sha256:" and 12 hex digits, enough to
// follow one session through the logs): any attribute whose key mentions a
// session (session, sessionID, mcp.session.id, …), at any depth of groups.
// Session ids are bearer credentials; logs are read by more people than
// should hold them.
//
// It also lowers to Debug the SDK lines that mislead on a shared store:
// mcp-go's "Sweeping expired session", which concerns only this replica's
// memory.
func Handler(h slog.Handler) slog.Handler { return redacting{h} }

type redacting struct{ next slog.Handler }

// demoted are SDK messages that describe local bookkeeping as if it ended
// the session.
var demoted = map[string]bool{"Sweeping expired session": true}

func (r redacting) Enabled(ctx context.Context, level slog.Level) bool {
	return r.next.Enabled(ctx, level) || r.next.Enabled(ctx, slog.LevelDebug)
}

func (r redacting) Handle(ctx context.Context, rec slog.Record) error {
	level := rec.Level
	if demoted[rec.Message] && level > slog.LevelDebug {
		level = slog.LevelDebug
	}
	if !r.next.Enabled(ctx, level) {
		return nil
	}
	out := slog.NewRecord(rec.Time, level, rec.Message, rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return r.next.Handle(ctx, out)
}

func (r redacting) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a)
	}
	return redacting{r.next.WithAttrs(red)}
}

func (r redacting) WithGroup(name string) slog.Handler { return redacting{r.next.WithGroup(name)} }

func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if v.Kind() == slog.KindGroup {
		group := v.Group()
		red := make([]slog.Attr, len(group))
		for i, g := range group {
			red[i] = redactAttr(g)
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(red...)}
	}
	if !strings.Contains(strings.ToLower(a.Key), "session") {
		return a
	}
	s := v.String()
	if s == "" {
		return a
	}
	sum := sha256.Sum256([]byte(s))
	return slog.String(a.Key, "sha256:"+hex.EncodeToString(sum[:6]))
}

// Logger returns a logger for an SDK's own lines that writes through l's
// handler (see Handler), or nil for a nil l.
func Logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return nil
	}
	return slog.New(Handler(l.Handler()))
}
