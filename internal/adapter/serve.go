package adapter

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/httpstatus"
	"github.com/mcpsession/mcpsession/internal/principal"
)

// Principal runs the adapter's principal function on r and checks what it
// returns (principal.Resolve).
func (c *Core) Principal(r *http.Request) (string, error) {
	return principal.Resolve(c.principal, r)
}

// ServePrincipal resolves r's principal and returns r's context with it
// and with c (Bind), for the caller to serve r with (one WithContext for
// what it adds too). When there is none, it answers (401 when the
// principal function failed, logged at Debug without the function's
// error, which may quote a credential; 500 when it returned an invalid
// principal, logged at Error) and ok is false.
func (c *Core) ServePrincipal(w http.ResponseWriter, r *http.Request) (_ context.Context, ok bool) {
	p, err := c.Principal(r)
	if err == nil {
		return c.Bind(principal.With(r.Context(), p)), true
	}
	if principal.Refused(err) {
		c.logger.LogAttrs(r.Context(), slog.LevelDebug, c.name+": the principal function refused a request")
		httpstatus.Unauthorized(w)
		return nil, false
	}
	c.logger.LogAttrs(r.Context(), slog.LevelError, c.name+": the principal function returned an invalid principal", slog.String("error", err.Error()))
	httpstatus.InternalError(w)
	return nil, false
}

// KeepAlive runs beside an open GET stream until ctx ends: once per touch
// interval it reads the session and slides its expiry, hands the record to
// seen (when not nil), and when the session is gone (deleted on any
// replica, or expired) it calls endStream and returns. An SDK whose stream
// loop watches the request's context ends the stream when endStream
// cancels it.
func (c *Core) KeepAlive(ctx context.Context, id string, seen func(meta map[string]any), endStream func()) {
	t := time.NewTicker(c.touchInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		meta, err := c.Open(ctx, id)
		switch {
		case errors.Is(err, mcpsession.ErrNotFound):
			endStream()
			return
		case err != nil && ctx.Err() == nil:
			c.StoreFailed(ctx, "reading the session of a GET stream", err)
		case err == nil && seen != nil:
			seen(meta)
		}
	}
}
