package adapterstate

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/mcpsession/mcpsession"
)

// PrincipalFunc gives the principal of an HTTP request: the opaque string
// that owns the request's state handles and the sessions it starts ("" is
// the anonymous principal). A real server derives it from a token its
// authentication middleware has already verified (the user's id, not the
// token itself, which changes when it is refreshed). An error means the
// request cannot be attributed to anyone; it is answered 401 and served no
// further.
type PrincipalFunc func(r *http.Request) (string, error)

// Anonymous is the PrincipalFunc of a server without authentication:
// every request is the anonymous principal, so handles are bearer tokens.
func Anonymous(*http.Request) (string, error) { return "", nil }

// KeyPrincipal holds the principal that started a session. Every later
// request of the session must come from the same principal. A record
// without it (made before principals were recorded) belongs to the
// anonymous principal.
const KeyPrincipal = ReservedPrefix + "principal"

// errForeign means a session's request came from another principal than
// the one that started it.
var errForeign = errors.New("the session belongs to another principal")

// IsForeign reports whether err is OpenAs's refusal of another principal.
func IsForeign(err error) bool { return errors.Is(err, errForeign) }

// SessionPrincipal is the principal that started the session meta records.
func SessionPrincipal(meta map[string]any) string {
	p, _ := meta[KeyPrincipal].(string)
	return p
}

// requestPrincipal is what a request's context carries: the principal, or
// why there is none.
type requestPrincipal struct {
	principal string
	err       error
}

type principalKey struct{}

// WithPrincipal returns ctx carrying the request's principal, for the
// handle helpers.
func WithPrincipal(ctx context.Context, principal string) context.Context {
	return context.WithValue(ctx, principalKey{}, requestPrincipal{principal: principal})
}

// WithPrincipalError returns ctx carrying why the request has no principal,
// which the handle helpers return.
func WithPrincipalError(ctx context.Context, err error) context.Context {
	return context.WithValue(ctx, principalKey{}, requestPrincipal{err: err})
}

// PrincipalFrom returns the principal ctx carries; ok is false when it
// carries none.
func PrincipalFrom(ctx context.Context) (principal string, ok bool, err error) {
	rp, ok := ctx.Value(principalKey{}).(requestPrincipal)
	if !ok {
		return "", false, nil
	}
	return rp.principal, true, rp.err
}

// Principal runs the principal function on r and checks what it returns.
// The error wraps mcpsession.ErrNoPrincipal: the function's own error (whose text
// is not kept: it may quote a credential), or a principal that
// mcpsession.ValidatePrincipal refuses.
func (c *Core) Principal(r *http.Request) (string, error) {
	p, err := c.principal(r)
	if err != nil {
		return "", &principalError{sentinel: mcpsession.ErrNoPrincipal, cause: err, unauthorized: true}
	}
	if err := mcpsession.ValidatePrincipal(p); err != nil {
		return "", &principalError{sentinel: mcpsession.ErrNoPrincipal, cause: err}
	}
	return p, nil
}

// principalError is a failed principal function, or its invalid answer.
type principalError struct {
	sentinel     error
	cause        error
	unauthorized bool // the function failed, rather than answering nonsense
}

func (e *principalError) Error() string {
	if e.unauthorized {
		return e.sentinel.Error() + ": the principal function failed"
	}
	return e.sentinel.Error() + ": " + e.cause.Error()
}

func (e *principalError) Unwrap() []error { return []error{e.sentinel, e.cause} }

// ServePrincipal resolves r's principal and returns r's context with it,
// for the caller to serve r with (one WithContext for what it adds too).
// When there is none, it answers (401 when the principal function failed,
// logged at Debug without the function's error, which may quote a
// credential; 500 when it returned an invalid principal, logged at Error)
// and ok is false.
func (c *Core) ServePrincipal(w http.ResponseWriter, r *http.Request) (_ context.Context, ok bool) {
	p, err := c.Principal(r)
	if err == nil {
		return WithPrincipal(r.Context(), p), true
	}
	if pe, _ := errors.AsType[*principalError](err); pe != nil && pe.unauthorized {
		c.logger.LogAttrs(r.Context(), slog.LevelDebug, c.name+": the principal function refused a request")
		http.Error(w, "Unauthorized", http.StatusUnauthorized)
		return nil, false
	}
	c.logger.LogAttrs(r.Context(), slog.LevelError, c.name+": the principal function returned an invalid principal", slog.String("error", err.Error()))
	http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	return nil, false
}

// Forbidden answers 403: a request of a session from another principal
// than the one that started it, which go-sdk's own handler refuses so too.
// Nothing of the request is served.
func Forbidden(w http.ResponseWriter) {
	http.Error(w, "Forbidden: the session belongs to another principal", http.StatusForbidden)
}
