package requeststate

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/driver"
	"github.com/mcpsession/mcpsession/internal/executor"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// A Request is what a state is bound to: the request that returned the
// InputRequiredResult, which the client retries with the state.
type Request struct {
	// Principal is who made the request, as the server authenticated it
	// ("" for the anonymous principal): the same string the state handles
	// use.
	Principal string

	// Method is the request's JSON-RPC method, such as "tools/call".
	Method string

	// Params are the request's params, as JSON. The state is bound to a
	// digest of them without the members a retry changes:
	// inputResponses, requestState and _meta. Two params that differ only
	// in those, in the order of object members or in white space have
	// one digest; numbers count as written (1 is not 1.0).
	Params json.RawMessage
}

// A Sealer seals the state of a multi round-trip request into a token and
// opens tokens that any replica over the same database sealed. It is safe
// for concurrent use.
type Sealer struct {
	x    *executor.Executor
	q    *driver.RequestStateStatements
	keys keys
	ring *ring // nil with WithKeys
	ttl  time.Duration
	now  func() time.Time
}

// New returns a Sealer whose keys live in store's database (or are those
// WithKeys gives) and which records used states there, in the tables of
// store's migrations. With the key ring, New reads the current key,
// inserting it if no replica has yet: a store without those tables, or
// one that accepts no writes (mcpsession.ErrReadOnly), fails here rather
// than at the first Seal. A bad option is an error matching
// mcpsession.ErrInvalidOption.
func New(ctx context.Context, store *sqlstore.Store, opts ...Option) (*Sealer, error) {
	if store == nil {
		return nil, fmt.Errorf("%w: requeststate.New: nil store", mcpsession.ErrInvalidOption)
	}
	cfg := config{ttl: defaultTTL, now: time.Now}
	for i, o := range opts {
		if o == nil {
			return nil, fmt.Errorf("%w: requeststate.New: option %d is nil", mcpsession.ErrInvalidOption, i)
		}
		if err := o.apply(&cfg); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.keys != nil && cfg.rotationSet:
		return nil, fmt.Errorf("%w: requeststate.New: WithRotation and WithKeys conflict: given keys do not rotate", mcpsession.ErrInvalidOption)
	case cfg.rotationSet && cfg.rotation < 2*cfg.ttl:
		return nil, fmt.Errorf("%w: requeststate.New: WithRotation(%v) is under twice the TTL, %v", mcpsession.ErrInvalidOption, cfg.rotation, cfg.ttl)
	case !cfg.rotationSet:
		cfg.rotation = max(defaultRotation, 2*cfg.ttl)
	}
	x := executor.Of(store)
	s := &Sealer{x: x, q: x.Driver().RequestState(), ttl: cfg.ttl, now: cfg.now}
	if cfg.keys != nil {
		f, err := newFixedKeys(cfg.keys)
		if err != nil {
			return nil, err
		}
		s.keys = f
		return s, nil
	}
	s.ring = newRing(x, cfg.rotation, cfg.ttl)
	s.keys = s.ring
	if _, _, err := s.ring.sealing(ctx, s.now()); err != nil {
		return nil, fmt.Errorf("requeststate.New: %w", err)
	}
	return s, nil
}

// Seal returns a token that carries state, bound to req and to an expiry
// one TTL from now, for the requestState of an InputRequiredResult. The
// token is base64url without padding, about 190 bytes plus 4/3 of the
// state: a plain JSON string. It is an error matching
// mcpsession.ErrInvalidArgument if req's method is empty or over 255 bytes,
// its params are not one JSON value, or state is over 64 KiB (a state
// travels to the client and back with every retry: keep what is big in a
// handle and seal its id).
func (s *Sealer) Seal(ctx context.Context, req Request, state []byte) (string, error) {
	switch {
	case req.Method == "":
		return "", fmt.Errorf("%w: empty method", mcpsession.ErrInvalidArgument)
	case len(req.Method) > maxMethodLength:
		return "", fmt.Errorf("%w: method of %d bytes, the limit is %d", mcpsession.ErrInvalidArgument, len(req.Method), maxMethodLength)
	case len(state) > maxStateSize:
		return "", fmt.Errorf("%w: state of %d bytes, the limit is %d", mcpsession.ErrInvalidArgument, len(state), maxStateSize)
	}
	digest, err := digestParams(req.Params)
	if err != nil {
		return "", err
	}
	now := s.now()
	keyID, aead, err := s.keys.sealing(ctx, now)
	if err != nil {
		return "", err
	}
	b := bindings{
		expiry:    now.Add(s.ttl).UnixMilli(),
		principal: sha256.Sum256([]byte(req.Principal)),
		params:    digest,
	}
	rand.Read(b.id[:]) // never fails (crypto/rand)

	// One buffer: header, nonce, then the plaintext, sealed in place.
	plainLen := bindingsLen + len(req.Method) + len(state)
	buf := make([]byte, headerLen+nonceLen, headerLen+nonceLen+plainLen+tagLen)
	buf[0] = formatVersion
	binary.BigEndian.PutUint64(buf[1:headerLen], keyID)
	nonce := buf[headerLen : headerLen+nonceLen]
	rand.Read(nonce)
	plain := appendPlaintext(buf[headerLen+nonceLen:], &b, req.Method, state)
	sealed := aead.Seal(buf[:headerLen+nonceLen], nonce, plain, buf[:headerLen])
	return encoding.EncodeToString(sealed), nil
}

// Open returns the state sealed in token if it is bound to req and has not
// expired: the integrity check, for a handler whose state may be used more
// than once. A token refused is an error matching ErrRefused and one of
// ErrTampered, ErrOtherPrincipal, ErrOtherRequest and ErrExpired (checked
// in that order); any other error (the store could not be read for a key)
// is the database's, wrapped. Errors never hold the token, a key or the
// principal. The state returned is the caller's.
func (s *Sealer) Open(ctx context.Context, req Request, token string) ([]byte, error) {
	state, _, err := s.open(ctx, req, token)
	return state, err
}

// OpenOnce is Open, and also makes the state single use: the first
// OpenOnce of a token, on any replica over the database, records the
// state's id until the state expires, and every later one is refused with
// ErrReplayed. Only a state that passed every other check is recorded, so
// a refused token uses up nothing. An error of the database is returned
// wrapped (mcpsession.ErrUnavailable, when it says so); the state may or
// may not have been recorded then.
func (s *Sealer) OpenOnce(ctx context.Context, req Request, token string) ([]byte, error) {
	state, b, err := s.open(ctx, req, token)
	if err != nil {
		return nil, err
	}
	n, err := s.x.Exec(ctx, "requeststate: use state", s.q.Use, b.id[:], b.expiry)
	if err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, ErrReplayed
	}
	return state, nil
}

func (s *Sealer) open(ctx context.Context, req Request, token string) ([]byte, *bindings, error) {
	sealed, ok := decodeToken(token)
	if !ok || sealed[0] != formatVersion {
		return nil, nil, ErrTampered
	}
	now := s.now()
	header := sealed[:headerLen]
	aead, err := s.keys.opening(ctx, binary.BigEndian.Uint64(header[1:]), now)
	if errors.Is(err, errUnknownKey) {
		return nil, nil, ErrTampered
	}
	if err != nil {
		return nil, nil, err
	}
	nonce := sealed[headerLen : headerLen+nonceLen]
	ciphertext := sealed[headerLen+nonceLen:]
	plain, err := aead.Open(ciphertext[:0], nonce, ciphertext, header)
	if err != nil {
		return nil, nil, ErrTampered
	}
	b, method, state, ok := parsePlaintext(plain)
	if !ok {
		// Authentic, so sealed by a Sealer of another format: as
		// unreadable as a forgery.
		return nil, nil, ErrTampered
	}
	principal := sha256.Sum256([]byte(req.Principal))
	if subtle.ConstantTimeCompare(principal[:], b.principal[:]) != 1 {
		return nil, nil, ErrOtherPrincipal
	}
	if string(method) != req.Method {
		return nil, nil, ErrOtherRequest
	}
	digest, err := digestParams(req.Params)
	if err != nil || digest != b.params {
		// Params that are not JSON are not those of any state sealed.
		return nil, nil, ErrOtherRequest
	}
	if now.UnixMilli() >= b.expiry {
		return nil, nil, ErrExpired
	}
	return state, &b, nil
}
