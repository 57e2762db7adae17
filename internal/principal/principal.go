// Package principal is who a request of an SDK adapter acts for: the
// function that derives it from the HTTP request, the check of what that
// function answers, and the context that carries the answer to the
// request's handlers.
package principal

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mcpsession/mcpsession"
)

// Func gives the principal of an HTTP request: the opaque string that owns
// the request's state handles and the sessions it starts ("" is the
// anonymous principal). A real server derives it from a token its
// authentication middleware has already verified (the user's id, not the
// token itself, which changes when it is refreshed). An error means the
// request cannot be attributed to anyone; it is answered 401 and served no
// further.
type Func func(r *http.Request) (string, error)

// Anonymous is the Func of a server without authentication: every request
// is the anonymous principal, so handles are bearer tokens.
func Anonymous(*http.Request) (string, error) { return "", nil }

// Resolve runs fn on r and checks what it returns. The error wraps
// mcpsession.ErrNoPrincipal: the function's own error (whose text is not
// kept: it may quote a credential; Refused holds for it), or a principal
// that mcpsession.ValidatePrincipal refuses.
func Resolve(fn Func, r *http.Request) (string, error) {
	p, err := fn(r)
	if err != nil {
		return "", &resolveError{cause: err, refused: true}
	}
	if err := mcpsession.ValidatePrincipal(p); err != nil {
		return "", &resolveError{cause: err}
	}
	return p, nil
}

// Refused reports whether err is Resolve's error for a function that
// failed, rather than one that answered nonsense.
func Refused(err error) bool {
	re, _ := errors.AsType[*resolveError](err)
	return re != nil && re.refused
}

// resolveError is a failed principal function, or its invalid answer.
type resolveError struct {
	cause   error
	refused bool
}

func (e *resolveError) Error() string {
	if e.refused {
		return mcpsession.ErrNoPrincipal.Error() + ": the principal function failed"
	}
	return mcpsession.ErrNoPrincipal.Error() + ": " + e.cause.Error()
}

func (e *resolveError) Unwrap() []error { return []error{mcpsession.ErrNoPrincipal, e.cause} }

// carried is what a request's context carries: the principal, or why
// there is none.
type carried struct {
	principal string
	err       error
}

type key struct{}

// With returns ctx carrying the request's principal.
func With(ctx context.Context, principal string) context.Context {
	return context.WithValue(ctx, key{}, carried{principal: principal})
}

// WithError returns ctx carrying why the request has no principal.
func WithError(ctx context.Context, err error) context.Context {
	return context.WithValue(ctx, key{}, carried{err: err})
}

// From returns the principal ctx carries, or the error it carries
// instead; ok is false when it carries neither.
func From(ctx context.Context) (principal string, ok bool, err error) {
	c, ok := ctx.Value(key{}).(carried)
	if !ok {
		return "", false, nil
	}
	return c.principal, true, c.err
}

// Of returns the principal ctx carries, put there by the adapter serving
// the request, or an error wrapping mcpsession.ErrNoPrincipal.
func Of(ctx context.Context) (string, error) {
	p, ok, err := From(ctx)
	switch {
	case err != nil:
		return "", err
	case !ok:
		return "", fmt.Errorf("%w: the request was not served through the adapter", mcpsession.ErrNoPrincipal)
	}
	return p, nil
}
