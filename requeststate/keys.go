package requeststate

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/executor"
)

// clockSkew is how far apart the replicas' clocks may be. Every bound a
// replica checks against another's clock allows for it: a key opens (and a
// used id and a retired key stay in the store) a minute longer than the
// sealing replica's clock alone would say.
const clockSkew = time.Minute

// errUnknownKey means the token names a key the Sealer does not have.
var errUnknownKey = errors.New("requeststate: unknown key")

// keys are where a Sealer's keys come from: the ring in the store, or
// those WithKeys gave.
type keys interface {
	// sealing returns the id and cipher of the key that seals at now.
	sealing(ctx context.Context, now time.Time) (uint64, cipher.AEAD, error)

	// opening returns the cipher of the key id that may open a state at
	// now, or errUnknownKey.
	opening(ctx context.Context, id uint64, now time.Time) (cipher.AEAD, error)
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// fixedKeys are the keys WithKeys gave, each known by a fingerprint: the
// first 8 bytes of a hash of it, so that a replica given its keys in
// another order, or a newer key first, still finds the one that sealed.
type fixedKeys struct {
	first uint64
	byID  map[uint64]cipher.AEAD
}

func newFixedKeys(ks [][]byte) (*fixedKeys, error) {
	f := &fixedKeys{byID: make(map[uint64]cipher.AEAD, len(ks))}
	for i, k := range ks {
		a, err := newAEAD(k)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(append([]byte("mcpsession requeststate key id\x00"), k...))
		id := binary.BigEndian.Uint64(sum[:])
		f.byID[id] = a
		if i == 0 {
			f.first = id
		}
	}
	return f, nil
}

func (f *fixedKeys) sealing(context.Context, time.Time) (uint64, cipher.AEAD, error) {
	return f.first, f.byID[f.first], nil
}

func (f *fixedKeys) opening(_ context.Context, id uint64, _ time.Time) (cipher.AEAD, error) {
	if a, ok := f.byID[id]; ok {
		return a, nil
	}
	return nil, errUnknownKey
}

// ring is the key ring in the store: a key per rotation epoch
// (floor(Unix milliseconds / rotation)), whose number is its id. The
// first replica that seals in an epoch inserts a fresh key, and every
// replica reads back whichever key won (PutKey), so all converge with no
// configuration and no lock. A key seals during its epoch and opens until
// the last state it can have sealed expires, one TTL later.
//
// Keys are cached in memory by epoch: a replica reads the ring once per
// epoch to seal, and once per earlier key it is asked to open, so that
// sealing and opening read the database only when the epoch turns.
type ring struct {
	x        *executor.Executor
	q        *driver.RequestStateStatements
	rotation int64 // milliseconds
	ttl      int64 // milliseconds

	mu    sync.RWMutex
	cache map[int64]cipher.AEAD

	// fetch is held while a key is read from the store, so that a burst
	// of calls at the turn of an epoch reads it once; a one-slot channel
	// rather than a mutex, so that a waiter still honours its context.
	fetch chan struct{}
}

func newRing(x *executor.Executor, rotation, ttl time.Duration) *ring {
	return &ring{
		x:        x,
		q:        x.Driver().RequestState(),
		rotation: rotation.Milliseconds(),
		ttl:      ttl.Milliseconds(),
		cache:    map[int64]cipher.AEAD{},
		fetch:    make(chan struct{}, 1),
	}
}

func (r *ring) epoch(unixMilli int64) int64 { return unixMilli / r.rotation }

// openable returns the epochs whose keys may open a state at now: from
// that of a state sealed a TTL ago to that of one sealed now, each a
// clock skew wider. A key id outside them is refused without reading the
// store, so that forged tokens cannot make a replica read it at will.
func (r *ring) openable(now time.Time) (lo, hi int64) {
	ms := now.UnixMilli()
	skew := clockSkew.Milliseconds()
	return r.epoch(ms - r.ttl - skew), r.epoch(ms + skew)
}

func (r *ring) cached(epoch int64) cipher.AEAD {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cache[epoch]
}

func (r *ring) sealing(ctx context.Context, now time.Time) (uint64, cipher.AEAD, error) {
	e := r.epoch(now.UnixMilli())
	if a := r.cached(e); a != nil {
		return uint64(e), a, nil
	}
	a, err := r.load(ctx, e, now, true)
	if err != nil {
		return 0, nil, err
	}
	return uint64(e), a, nil
}

func (r *ring) opening(ctx context.Context, id uint64, now time.Time) (cipher.AEAD, error) {
	e := int64(id)
	if lo, hi := r.openable(now); e < lo || e > hi {
		return nil, errUnknownKey
	}
	if a := r.cached(e); a != nil {
		return a, nil
	}
	return r.load(ctx, e, now, false)
}

// load reads the epoch's key from the store into the cache, inserting a
// fresh one first if create is set, and drops the keys that can no
// longer open anything.
func (r *ring) load(ctx context.Context, e int64, now time.Time, create bool) (cipher.AEAD, error) {
	select {
	case r.fetch <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-r.fetch }()
	if a := r.cached(e); a != nil {
		return a, nil
	}
	var key []byte
	if create {
		fresh := make([]byte, KeySize)
		rand.Read(fresh) // never fails (crypto/rand)
		retire := (e+1)*r.rotation + r.ttl
		// The statement returns a row whatever happens, so no error here
		// is sql.ErrNoRows, the one WriteRow leaves unwrapped.
		if err := r.x.WriteRow(ctx, "requeststate: put key", r.q.PutKey, []any{e, fresh, retire}, &key); err != nil {
			return nil, err
		}
	} else {
		err := r.x.QueryRow(ctx, "requeststate: read key", r.q.Key, []any{e}, &key)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errUnknownKey
		}
		if err != nil {
			return nil, err
		}
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("requeststate: the ring's key for epoch %d is %d bytes, want %d", e, len(key), KeySize)
	}
	a, err := newAEAD(key)
	if err != nil {
		return nil, err
	}
	lo, _ := r.openable(now)
	r.mu.Lock()
	defer r.mu.Unlock()
	for old := range r.cache {
		if old < lo {
			delete(r.cache, old)
		}
	}
	r.cache[e] = a
	return a, nil
}
