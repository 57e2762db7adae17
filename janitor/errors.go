package janitor

import "errors"

// The errors New and Run return besides mcpsession.ErrInvalidOption (a nil
// Cleaner, a nil Option, an interval that is not positive, a jitter
// outside [0, 1), a ttl under one millisecond, which also matches
// mcpsession.ErrInvalidTTL, a nil logger, a nil callback or a nil
// Sweeper). Each error New returns matches one of them with errors.Is, and
// carries detail in its message.
var (
	// ErrNoTTL means New could not tell how old an idle session must be to
	// be removed: the Cleaner reports no idle timeout and WithTTL was not
	// given.
	ErrNoTTL = errors.New("janitor: no ttl: the cleaner reports no idle timeout and WithTTL was not given")
	// ErrRunning means Run was called while another Run of the same Janitor
	// had not returned. One loop per Janitor is enough; a second would only
	// double the sweep rate.
	ErrRunning = errors.New("janitor: already running")
)
