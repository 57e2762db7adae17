package janitor

import (
	"errors"
	"fmt"

	"github.com/mcpsession/mcpsession"
)

// errNoTTL means New could not tell how old an idle session must be to be
// removed: the Cleaner reports no idle timeout and WithTTL was not given.
var errNoTTL = fmt.Errorf("%w: janitor: no ttl: the cleaner reports no idle timeout and WithTTL was not given", mcpsession.ErrInvalidOption)

// errRunning means Run was called while another Run of the same Janitor
// had not returned. One loop per Janitor is enough; a second would only
// double the sweep rate.
var errRunning = errors.New("janitor: already running")
