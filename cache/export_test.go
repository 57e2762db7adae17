package cache

import "github.com/mcpsession/mcpsession/internal/testsignal"

// Invalidated is the signal c fires with each key it drops ("*" when it
// drops everything), for the tests of package cache_test.
func Invalidated(c Store) *testsignal.Signal[string] { return &c.(*store).invalidated }

// The tuning options the tests set; users get the defaults.
var (
	WithPublishInterval = withPublishInterval
	WithRefreshAhead    = withRefreshAhead
)
