package requeststate

import (
	"bytes"
	"fmt"
	"time"

	"github.com/mcpsession/mcpsession"
)

// KeySize is the length of a key given to WithKeys: AES-256's.
const KeySize = 32

// Defaults and bounds.
const (
	// defaultTTL is the spec's "short expiry": long enough for a person
	// to answer an elicitation, short enough that a leaked state is soon
	// worthless.
	defaultTTL = 10 * time.Minute
	minTTL     = time.Second
	maxTTL     = 24 * time.Hour

	defaultRotation = 24 * time.Hour
	// maxRotation bounds how many states one key seals. With random
	// 96-bit nonces, AES-GCM is safe for 2^32 seals per key (NIST SP
	// 800-38D, 8.3); a week of sealing at 7,000 states a second, all
	// replicas together, is that many.
	maxRotation = 7 * 24 * time.Hour
)

// An Option configures a Sealer; New validates each, and refuses options
// that conflict, with an error matching mcpsession.ErrInvalidOption.
type Option interface {
	apply(*config) error
}

type optionFunc func(*config) error

func (f optionFunc) apply(c *config) error { return f(c) }

type config struct {
	ttl         time.Duration
	rotation    time.Duration // 0: the default, at least 2*ttl
	keys        [][]byte      // WithKeys; nil: the key ring in the store
	rotationSet bool

	// A test seam, set only by withClock: the clock every time a Sealer
	// seals, checks or sweeps is read from.
	now func() time.Time
}

// WithTTL sets how long a sealed state can be opened (default 10 minutes),
// from 1 second to 24 hours. Give every replica the same TTL.
func WithTTL(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d < minTTL || d > maxTTL {
			return fmt.Errorf("%w: requeststate.WithTTL(%v): must be from %v to %v", mcpsession.ErrInvalidOption, d, minTTL, maxTTL)
		}
		c.ttl = d
		return nil
	})
}

// WithRotation sets how long each key of the ring in the store seals
// (default 24 hours, or twice the TTL if that is longer); it keeps opening
// for one TTL after that. d is at least twice the TTL, so that at most two
// keys are ever open at once and each replica writes the ring at most once
// per rotation, and at most 7 days, so that no key seals more states than
// AES-GCM with random nonces allows at up to 7,000 seals a second. Give
// every replica the same rotation: it numbers the ring's keys. It conflicts
// with WithKeys.
func WithRotation(d time.Duration) Option {
	return optionFunc(func(c *config) error {
		if d <= 0 || d > maxRotation {
			return fmt.Errorf("%w: requeststate.WithRotation(%v): must be positive and at most %v", mcpsession.ErrInvalidOption, d, maxRotation)
		}
		c.rotation = d
		c.rotationSet = true
		return nil
	})
}

// WithKeys gives the Sealer its keys, for those who keep keys out of the
// database: each KeySize random bytes, the first of which seals and all of
// which open. The key ring in the store is then not used (nor created):
// rotate by putting a new key first and keeping the old one for a TTL.
// Give every replica the same keys. A key of another length, one of all
// zero bytes, a key given twice or no key at all is refused. The Sealer
// keeps copies. It conflicts with WithRotation.
func WithKeys(keys ...[]byte) Option {
	return optionFunc(func(c *config) error {
		if len(keys) == 0 {
			return fmt.Errorf("%w: requeststate.WithKeys(): no key", mcpsession.ErrInvalidOption)
		}
		var zero [KeySize]byte
		own := make([][]byte, len(keys))
		for i, k := range keys {
			switch {
			case len(k) != KeySize:
				return fmt.Errorf("%w: requeststate.WithKeys: key %d is %d bytes, want %d", mcpsession.ErrInvalidOption, i, len(k), KeySize)
			case bytes.Equal(k, zero[:]):
				return fmt.Errorf("%w: requeststate.WithKeys: key %d is all zero bytes", mcpsession.ErrInvalidOption, i)
			}
			for j := range i {
				if bytes.Equal(k, keys[j]) {
					return fmt.Errorf("%w: requeststate.WithKeys: key %d repeats key %d", mcpsession.ErrInvalidOption, i, j)
				}
			}
			own[i] = bytes.Clone(k)
		}
		c.keys = own
		return nil
	})
}

// withClock makes the Sealer read the time from now.
func withClock(now func() time.Time) Option {
	return optionFunc(func(c *config) error {
		c.now = now
		return nil
	})
}
