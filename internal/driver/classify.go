package driver

import (
	sqldriver "database/sql/driver"
	"errors"
	"io"
	"net"
	"syscall"
)

// ErrorKind is what a database error means to the caller of a store, as
// [Driver.ClassifyError] tells it. sqlstore turns it into the sentinels
// mcpsession.ErrUnavailable and mcpsession.ErrReadOnly.
type ErrorKind int

const (
	// ErrorOther is any error a retry would not help: a constraint, a
	// bad statement, a missing table, a permission.
	ErrorOther ErrorKind = iota

	// ErrorUnavailable means the server could not be reached, went away
	// during the call, or refused it for now (shutting down, starting
	// up, promoting, out of connections). The same call may succeed a
	// moment later, perhaps on another host of a multi-host DSN.
	ErrorUnavailable

	// ErrorReadOnly means the server accepts no writes: a hot standby, or
	// a read-only transaction or session.
	ErrorReadOnly
)

func (k ErrorKind) String() string {
	switch k {
	case ErrorUnavailable:
		return "unavailable"
	case ErrorReadOnly:
		return "read-only"
	}
	return "other"
}

// ClassifyTransport recognises the errors of any driver whose connection
// broke or could not be made: refused, reset, cut short, timed out at the
// network (not by the caller's context, which the caller checks first),
// or marked bad by database/sql's driver contract.
func ClassifyTransport(err error) ErrorKind {
	var netErr net.Error
	switch {
	case errors.Is(err, sqldriver.ErrBadConn),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTDOWN),
		errors.Is(err, net.ErrClosed),
		errors.As(err, &netErr):
		return ErrorUnavailable
	}
	return ErrorOther
}
