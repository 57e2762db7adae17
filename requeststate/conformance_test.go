package requeststate

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession/internal/testdb"
)

// The Sealer's rules, each run on SQLite and on Postgres (with
// MCPSESSION_TEST_POSTGRES_DSN), each on a database of its own. Time is a
// clock the test moves (withClock): nothing waits for it.

// epoch0 is the start of a rotation epoch of the default rotation (a
// whole number of days since 1970).
var epoch0 = time.Date(2026, 7, 28, 0, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Advance(d time.Duration) { c.Set(c.Now().Add(d)) }

// bundle is one database and what the rules use on it.
type bundle struct {
	dsn   string
	clock *clock
	s     *Sealer // replica A
	db    *sql.DB // the database, for what the rules check by hand

	mu      sync.Mutex
	tokens  []string
	secrets []string // keys and principals
	errs    []error
}

func setup(t *testing.T, dsn string, opts ...Option) *bundle {
	t.Helper()
	b := &bundle{dsn: dsn, clock: &clock{t: epoch0}, db: testdb.OpenDB(t, dsn)}
	b.s = b.replica(t, opts...)
	b.secret(alice.Principal, bob.Principal)
	t.Cleanup(func() { b.checkErrors(t) })
	return b
}

// replica returns a Sealer over a store of its own on the bundle's
// database: another replica, on the bundle's clock.
func (b *bundle) replica(t *testing.T, opts ...Option) *Sealer {
	t.Helper()
	store := testdb.OpenStore(t, b.dsn)
	s, err := New(t.Context(), store, append([]Option{withClock(b.clock.Now)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func (b *bundle) secret(s ...string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.secrets = append(b.secrets, s...)
}

func (b *bundle) seal(t *testing.T, s *Sealer, req Request, state string) string {
	t.Helper()
	token, err := s.Seal(t.Context(), req, []byte(state))
	if err != nil {
		t.Fatalf("Seal: %v", err)
	}
	b.mu.Lock()
	b.tokens = append(b.tokens, token)
	b.mu.Unlock()
	return token
}

// open opens token with s (once, if once is set) and checks what it gets:
// state, or an error matching want and ErrRefused.
func (b *bundle) open(t *testing.T, s *Sealer, once bool, req Request, token string, want error, state string) {
	t.Helper()
	b.mu.Lock()
	b.tokens = append(b.tokens, token)
	b.mu.Unlock()
	open := s.Open
	if once {
		open = s.OpenOnce
	}
	got, err := open(t.Context(), req, token)
	b.record(err)
	switch {
	case want == nil && err != nil:
		t.Fatalf("open (once %v): %v; want state %q", once, err, state)
	case want == nil && string(got) != state:
		t.Fatalf("open (once %v) = %q; want %q", once, got, state)
	case want != nil && (!errors.Is(err, want) || !errors.Is(err, ErrRefused)):
		t.Fatalf("open (once %v) = %q, %v; want %v, matching ErrRefused", once, got, err, want)
	case want != nil && got != nil:
		t.Fatalf("open (once %v) refused with %v, and returned state %q", once, err, got)
	}
}

func (b *bundle) record(err error) {
	if err == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, err)
}

// checkErrors fails t if an error any rule saw holds a token (or 12
// characters of one), a principal, or a key of the ring or of WithKeys in
// any of the forms a log would show it.
func (b *bundle) checkErrors(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	secrets := append([]string(nil), b.secrets...)
	rows, err := b.db.QueryContext(context.Background(), `SELECT key FROM mcp_requeststate_keys`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k []byte
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, keyForms(k)...)
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	for _, err := range b.errs {
		msg := err.Error()
		for _, s := range secrets {
			if s != "" && strings.Contains(msg, s) {
				t.Errorf("error %q holds a secret (%d bytes of it)", msg, len(s))
			}
		}
		for _, tok := range b.tokens {
			for i := 0; i+12 <= len(tok); i++ {
				if strings.Contains(msg, tok[i:i+12]) {
					t.Errorf("error %q holds part of a token", msg)
					break
				}
			}
		}
	}
}

func keyForms(k []byte) []string {
	return []string{string(k), hex.EncodeToString(k), base64.StdEncoding.EncodeToString(k),
		base64.RawURLEncoding.EncodeToString(k), fmt.Sprint(k)}
}

// The requests the rules seal for.
var (
	alice = Request{Principal: "principal-alice-7f3a9c", Method: "tools/call",
		Params: json.RawMessage(`{"name":"confirm","arguments":{"action":"deploy","n":1.5}}`)}
	bob = Request{Principal: "principal-bob-51e0d2", Method: alice.Method, Params: alice.Params}
)

func with(r Request, f func(*Request)) Request {
	f(&r)
	return r
}

// rules are the Sealer's rules, each a function of a fresh bundle.
var rules = []struct {
	name string
	run  func(t *testing.T, dsn string)
}{
	{"RoundTrip", testRoundTrip},
	{"Tampered", testTampered},
	{"Expired", testExpired},
	{"OtherPrincipal", testOtherPrincipal},
	{"OtherRequest", testOtherRequest},
	{"RetryChangesOnly", testRetryChangesOnly},
	{"ReplayOnAnotherReplica", testReplayOnAnotherReplica},
	{"ConcurrentOpenOnce", testConcurrentOpenOnce},
	{"Rotation", testRotation},
	{"RingConverges", testRingConverges},
	{"RetiredKey", testRetiredKey},
	{"WithKeys", testWithKeys},
	{"Sweep", testSweep},
}

func TestConformance(t *testing.T) {
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			t.Parallel()
			testdb.Each(t, r.run)
		})
	}
}

// A state opens with what it sealed, on the replica that sealed it and on
// another; Open may be repeated, OpenOnce may not.
func testRoundTrip(t *testing.T, dsn string) {
	b := setup(t, dsn)
	other := b.replica(t)
	for _, state := range []string{"", "x", strings.Repeat("é", maxStateSize/2)} {
		token := b.seal(t, b.s, alice, state)
		if strings.ContainsAny(token, "=+/\r\n") {
			t.Fatalf("token %q is not base64url without padding", token)
		}
		if want := 190 + (len(state)*4+2)/3; len(token) > want {
			t.Errorf("token of %d bytes for %d bytes of state; want at most %d", len(token), len(state), want)
		}
		b.open(t, b.s, false, alice, token, nil, state)
		b.open(t, other, false, alice, token, nil, state)
		b.open(t, other, true, alice, token, nil, state)
		b.open(t, b.s, true, alice, token, ErrReplayed, "")
		b.open(t, other, true, alice, token, ErrReplayed, "")
		// Integrity alone still holds after single use.
		b.open(t, b.s, false, alice, token, nil, state)
	}
	// Two seals of one state are two states.
	t1, t2 := b.seal(t, b.s, alice, "same"), b.seal(t, b.s, alice, "same")
	if t1 == t2 {
		t.Fatal("two seals made one token")
	}
	b.open(t, b.s, true, alice, t1, nil, "same")
	b.open(t, b.s, true, alice, t2, nil, "same")
}

// Every alteration of a token is ErrTampered, and uses nothing up: the
// token itself still opens once afterwards.
func testTampered(t *testing.T, dsn string) {
	b := setup(t, dsn)
	token := b.seal(t, b.s, alice, "the state")
	sealed, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	tampered := func(name, tok string) {
		t.Helper()
		_, err := b.s.Open(t.Context(), alice, tok)
		_, errOnce := b.s.OpenOnce(t.Context(), alice, tok)
		for _, err := range []error{err, errOnce} {
			b.record(err)
			if !errors.Is(err, ErrTampered) || !errors.Is(err, ErrRefused) {
				t.Fatalf("%s: %v; want ErrTampered", name, err)
			}
		}
	}
	// Every byte of the sealed bytes, each bit pattern a flip can take.
	for i := range sealed {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			alt := append([]byte(nil), sealed...)
			alt[i] ^= mask
			tampered(fmt.Sprintf("sealed byte %d ^ %#x", i, mask), base64.RawURLEncoding.EncodeToString(alt))
		}
	}
	// Every character of the text.
	for i := range len(token) {
		for _, mask := range []byte{0x01, 0x20} {
			alt := []byte(token)
			alt[i] ^= mask
			tampered(fmt.Sprintf("character %d ^ %#x", i, mask), string(alt))
		}
	}
	// Every truncation, and a byte more.
	for n := range len(token) {
		tampered(fmt.Sprintf("first %d characters", n), token[:n])
	}
	tampered("a byte more", base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), sealed...), 0)))
	// Not base64url, or not canonical: the decoder would skip CR and LF,
	// and ignore stray bits in the last character.
	for name, tok := range map[string]string{
		"padded":          base64.URLEncoding.EncodeToString(sealed),
		"standard":        base64.StdEncoding.EncodeToString(sealed),
		"with a newline":  token[:40] + "\n" + token[40:],
		"with CRLF":       token + "\r\n",
		"with a space":    " " + token,
		"not base64":      strings.Repeat("!", len(token)),
		"empty":           "",
		"huge":            strings.Repeat("A", maxTokenLen+4),
		"stray last bits": strayBits(t, token),
	} {
		tampered(name, tok)
	}
	// A key the Sealer does not have: the next epoch's, which nobody has
	// made, and one far from any that could still open.
	for name, id := range map[string]uint64{
		"next epoch": uint64(b.s.ring.epoch(b.clock.Now().UnixMilli()) + 1),
		"far epoch":  1 << 40,
	} {
		alt := append([]byte(nil), sealed...)
		binary.BigEndian.PutUint64(alt[1:headerLen], id)
		tampered(name, base64.RawURLEncoding.EncodeToString(alt))
	}
	// Another format version.
	alt := append([]byte(nil), sealed...)
	alt[0] = formatVersion + 1
	tampered("version 2", base64.RawURLEncoding.EncodeToString(alt))

	// None of that used the state up.
	b.open(t, b.s, true, alice, token, nil, "the state")
	b.open(t, b.s, true, alice, token, ErrReplayed, "")
}

// strayBits returns token with its last character's unused low bits set,
// which a lenient decoder reads as the same bytes.
func strayBits(t *testing.T, token string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	unused := map[int]int{2: 4, 3: 2}[len(token)%4] // bits of the last character no byte holds
	if unused == 0 {
		t.Fatalf("token length %d leaves no unused bits; change the state", len(token))
	}
	last := strings.IndexByte(alphabet, token[len(token)-1])
	alt := token[:len(token)-1] + string(alphabet[last|1]) // canonical: the unused bits are zero
	if lenient, _ := base64.RawURLEncoding.DecodeString(alt); string(lenient) != string(must(base64.RawURLEncoding.DecodeString(token))) {
		t.Fatal("strayBits changed the bytes, not just the stray bits")
	}
	return alt
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A state opens until a TTL after it was sealed, and not from then on, on
// any replica; an expired state is not recorded as used.
func testExpired(t *testing.T, dsn string) {
	const ttl = 90 * time.Second
	b := setup(t, dsn, WithTTL(ttl))
	other := b.replica(t, WithTTL(ttl))
	b.clock.Advance(7 * time.Hour) // mid-epoch
	token := b.seal(t, b.s, alice, "s")
	b.clock.Advance(ttl - time.Millisecond)
	b.open(t, other, false, alice, token, nil, "s")
	b.clock.Advance(time.Millisecond)
	b.open(t, b.s, false, alice, token, ErrExpired, "")
	b.open(t, other, true, alice, token, ErrExpired, "")
	if n := count(t, b.db, "mcp_requeststate_used"); n != 0 {
		t.Fatalf("%d used ids recorded for an expired state", n)
	}
	// The default TTL is ten minutes.
	d := setup(t, dsn)
	token = d.seal(t, d.s, alice, "s")
	d.clock.Advance(10*time.Minute - time.Millisecond)
	d.open(t, d.s, false, alice, token, nil, "s")
	d.clock.Advance(time.Millisecond)
	d.open(t, d.s, false, alice, token, ErrExpired, "")
}

// A state sealed for one principal is refused to any other (the
// anonymous one included), even when it has expired too, and is not used
// up by the attempt.
func testOtherPrincipal(t *testing.T, dsn string) {
	b := setup(t, dsn)
	token := b.seal(t, b.s, alice, "s")
	anonymous := with(alice, func(r *Request) { r.Principal = "" })
	for _, req := range []Request{bob, anonymous, with(alice, func(r *Request) { r.Principal += " " })} {
		b.open(t, b.s, true, req, token, ErrOtherPrincipal, "")
	}
	b.clock.Advance(time.Hour)
	b.open(t, b.s, false, bob, token, ErrOtherPrincipal, "")
	b.open(t, b.s, false, alice, token, ErrExpired, "")
	// The anonymous principal's states are bound to it too.
	b.clock.Set(epoch0)
	anon := b.seal(t, b.s, anonymous, "a")
	b.open(t, b.s, false, alice, anon, ErrOtherPrincipal, "")
	b.open(t, b.s, true, anonymous, anon, nil, "a")
}

// A state sealed for one request is refused to another method, other
// arguments, and params that are not JSON; it is not used up.
func testOtherRequest(t *testing.T, dsn string) {
	b := setup(t, dsn)
	token := b.seal(t, b.s, alice, "s")
	for name, params := range map[string]string{
		"other argument":   `{"name":"confirm","arguments":{"action":"delete","n":1.5}}`,
		"number respelled": `{"name":"confirm","arguments":{"action":"deploy","n":15e-1}}`,
		"argument added":   `{"name":"confirm","arguments":{"action":"deploy","n":1.5,"force":true}}`,
		"other tool":       `{"name":"research","arguments":{"action":"deploy","n":1.5}}`,
		"no params":        ``,
		"null":             `null`,
		"not JSON":         `{"name":`,
		"two values":       `{} {}`,
		"nested _meta":     `{"name":"confirm","arguments":{"action":"deploy","n":1.5,"_meta":{}}}`,
	} {
		req := with(alice, func(r *Request) { r.Params = json.RawMessage(params) })
		_, err := b.s.OpenOnce(t.Context(), req, token)
		b.record(err)
		if !errors.Is(err, ErrOtherRequest) || !errors.Is(err, ErrRefused) {
			t.Errorf("%s: %v; want ErrOtherRequest", name, err)
		}
	}
	for _, method := range []string{"tools/list", "prompts/get", "tools/call "} {
		b.open(t, b.s, true, with(alice, func(r *Request) { r.Method = method }), token, ErrOtherRequest, "")
	}
	b.open(t, b.s, true, alice, token, nil, "s")
}

// What a retry changes (inputResponses, requestState, _meta), the order
// of members and white space do not matter.
func testRetryChangesOnly(t *testing.T, dsn string) {
	b := setup(t, dsn)
	token := b.seal(t, b.s, with(alice, func(r *Request) {
		r.Params = json.RawMessage(`{"name":"confirm","arguments":{"action":"deploy","n":1.5},"_meta":{"progressToken":1}}`)
	}), "s")
	for _, params := range []string{
		`{"name":"confirm","arguments":{"action":"deploy","n":1.5}}`,
		`{"arguments":{"n":1.5,"action":"deploy"},"name":"confirm"}`,
		" {\n\t\"name\" : \"confirm\", \"arguments\" : { \"n\" : 1.5 , \"action\" : \"deploy\" } } ",
		`{"name":"confirm","arguments":{"action":"deploy","n":1.5},"inputResponses":{"confirm":{"action":"accept","content":{"ok":true}}},"requestState":"` + token + `"}`,
		`{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"},"requestState":"x","arguments":{"action":"deploy","n":1.5},"name":"confirm"}`,
	} {
		b.open(t, b.s, false, with(alice, func(r *Request) { r.Params = json.RawMessage(params) }), token, nil, "s")
	}
}

// A state opened once on one replica is refused on another; both
// replicas open each other's states.
func testReplayOnAnotherReplica(t *testing.T, dsn string) {
	b := setup(t, dsn)
	other := b.replica(t)
	fromA := b.seal(t, b.s, alice, "from A")
	fromB := b.seal(t, other, alice, "from B")
	b.open(t, other, true, alice, fromA, nil, "from A")
	b.open(t, b.s, true, alice, fromA, ErrReplayed, "")
	b.open(t, b.s, true, alice, fromB, nil, "from B")
	b.open(t, other, true, alice, fromB, ErrReplayed, "")
	// A replica that starts later shares the record.
	b.open(t, b.replica(t), true, alice, fromA, ErrReplayed, "")
}

// Eight goroutines on two replicas open one state at once: exactly one
// gets it.
func testConcurrentOpenOnce(t *testing.T, dsn string) {
	b := setup(t, dsn)
	replicas := []*Sealer{b.s, b.replica(t)}
	for round := range 5 {
		token := b.seal(t, b.s, alice, "once")
		start := make(chan struct{})
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				<-start
				_, errs[i] = replicas[i%2].OpenOnce(t.Context(), alice, token)
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for _, err := range errs {
			b.record(err)
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrReplayed):
				t.Fatalf("round %d: %v; want nil or ErrReplayed", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of 8 OpenOnce calls succeeded; want 1", round, won)
		}
	}
}

// A state sealed at the end of epoch N opens in epoch N+1 while within
// its TTL, on both replicas, and a state sealed in N+1 is under the new
// epoch's key. (With the rotation at least twice the TTL, no state of N
// is still within its TTL in N+2: see testRetiredKey.)
func testRotation(t *testing.T, dsn string) {
	const ttl, rotation = time.Minute, time.Hour
	b := setup(t, dsn, WithTTL(ttl), WithRotation(rotation))
	other := b.replica(t, WithTTL(ttl), WithRotation(rotation))
	b.clock.Advance(rotation - time.Second)
	late := b.seal(t, b.s, alice, "sealed in N")
	b.clock.Advance(time.Second) // epoch N+1
	fresh := b.seal(t, other, alice, "sealed in N+1")
	if keyID(t, late) == keyID(t, fresh) {
		t.Fatal("states sealed in two epochs share a key")
	}
	if got, want := int64(keyID(t, fresh)), b.clock.Now().UnixMilli()/rotation.Milliseconds(); got != want {
		t.Fatalf("key id %d; want the epoch, %d", got, want)
	}
	b.clock.Advance(ttl - 2*time.Second)
	b.open(t, b.s, false, alice, late, nil, "sealed in N")
	b.open(t, other, true, alice, late, nil, "sealed in N")
	b.open(t, b.s, true, alice, fresh, nil, "sealed in N+1")
	b.clock.Advance(time.Second)
	b.open(t, b.s, false, alice, late, ErrExpired, "")
	if n := count(t, b.db, "mcp_requeststate_keys"); n != 2 {
		t.Fatalf("%d keys in the ring after two epochs; want 2", n)
	}
}

// Replicas that seal at the turn of an epoch at once insert one key
// between them, and open each other's states.
func testRingConverges(t *testing.T, dsn string) {
	b := setup(t, dsn)
	replicas := []*Sealer{b.s, b.replica(t), b.replica(t)}
	b.clock.Advance(24 * time.Hour) // a new epoch: no replica has its key
	tokens := make([]string, 12)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range tokens {
		wg.Go(func() {
			<-start
			tok, err := replicas[i%3].Seal(t.Context(), alice, []byte{byte(i)})
			if err != nil {
				t.Error(err)
			}
			tokens[i] = tok
		})
	}
	close(start)
	wg.Wait()
	if t.Failed() {
		return
	}
	for i, tok := range tokens {
		b.mu.Lock()
		b.tokens = append(b.tokens, tok)
		b.mu.Unlock()
		b.open(t, replicas[(i+1)%3], false, alice, tok, nil, string([]byte{byte(i)}))
	}
	if n := count(t, b.db, "mcp_requeststate_keys"); n != 2 {
		t.Fatalf("%d keys in the ring for two epochs; want 2", n)
	}
}

// A key opens until its last state has expired, and a clock skew more;
// its states are then ErrExpired while it is kept, ErrTampered once it is
// gone (out of every replica's reach, then swept).
func testRetiredKey(t *testing.T, dsn string) {
	const ttl, rotation = 5 * time.Minute, time.Hour
	b := setup(t, dsn, WithTTL(ttl), WithRotation(rotation))
	b.clock.Advance(rotation - time.Millisecond)
	token := b.seal(t, b.s, alice, "s")  // the last state the key of epoch 0 seals
	retire := epoch0.Add(rotation + ttl) // when every state of epoch 0 has expired

	b.clock.Set(retire.Add(-2 * time.Millisecond))
	b.open(t, b.s, false, alice, token, nil, "s")
	b.clock.Set(retire.Add(-time.Millisecond))
	b.open(t, b.s, false, alice, token, ErrExpired, "")
	// Another replica, which never saw the key, reads it from the ring.
	b.clock.Set(retire.Add(clockSkew - time.Millisecond))
	b.open(t, b.replica(t, WithTTL(ttl), WithRotation(rotation)), false, alice, token, ErrExpired, "")
	// A sweep keeps the key until then.
	if _, err := b.s.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := count(t, b.db, "mcp_requeststate_keys"); n != 2 {
		t.Fatalf("%d keys after a sweep before the retired key's time; want 2", n)
	}
	b.clock.Set(retire.Add(clockSkew))
	b.open(t, b.s, false, alice, token, ErrTampered, "")
	if n, err := b.s.Sweep(t.Context()); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want the retired key deleted", n, err)
	}
	b.open(t, b.replica(t, WithTTL(ttl), WithRotation(rotation)), false, alice, token, ErrTampered, "")
	// In epoch N+2 (the rotation being at least twice the TTL) a state of
	// N is past its TTL, and its key out of reach.
	b.clock.Set(epoch0.Add(2 * rotation))
	b.open(t, b.s, false, alice, token, ErrTampered, "")
}

// With WithKeys the ring is neither read nor written; a replica given a
// new key first and the old one after opens the old one's states, and a
// replica without the old key refuses them.
func testWithKeys(t *testing.T, dsn string) {
	k1, k2 := testKey(1), testKey(2)
	b := setup(t, dsn, WithKeys(k1))
	b.secret(keyForms(k1)...)
	b.secret(keyForms(k2)...)
	rotated := b.replica(t, WithKeys(k2, k1))
	onlyNew := b.replica(t, WithKeys(k2))

	old := b.seal(t, b.s, alice, "under k1")
	b.open(t, rotated, false, alice, old, nil, "under k1")
	b.open(t, onlyNew, false, alice, old, ErrTampered, "")
	if n := count(t, b.db, "mcp_requeststate_keys"); n != 0 {
		t.Fatalf("%d keys in the ring after sealing and opening with given keys; want none", n)
	}
	ring := b.replica(t)
	b.open(t, ring, false, alice, old, ErrTampered, "")
	fresh := b.seal(t, rotated, alice, "under k2")
	b.open(t, onlyNew, true, alice, fresh, nil, "under k2")
	b.open(t, rotated, true, alice, fresh, ErrReplayed, "")
	b.open(t, b.s, false, alice, fresh, ErrTampered, "")
	// Single use works as with the ring.
	b.open(t, b.s, true, alice, old, nil, "under k1")
	b.open(t, rotated, true, alice, old, ErrReplayed, "")
	// The ring's states do not open with given keys.
	b.open(t, b.s, false, alice, b.seal(t, ring, alice, "ring"), ErrTampered, "")
	if n := count(t, b.db, "mcp_requeststate_keys"); n != 1 {
		t.Fatalf("%d keys in the ring; want the ring replica's alone, 1", n)
	}
	// The keys given are copied: changing the caller's slice changes
	// nothing.
	k1[0] ^= 0xff
	b.open(t, rotated, false, alice, old, nil, "under k1")
}

func testKey(seed byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = seed + byte(i)*7
	}
	return k
}

// Sweep deletes the used ids of states a clock skew past their expiry,
// and nothing else: a state not yet expired stays refused as replayed.
func testSweep(t *testing.T, dsn string) {
	const ttl = time.Minute
	b := setup(t, dsn, WithTTL(ttl))
	var early []string
	for i := range 1200 + 7 { // more than a batch
		if i == 1000 {
			b.clock.Advance(10 * time.Second)
		}
		tok := b.seal(t, b.s, alice, "")
		if _, err := b.s.OpenOnce(t.Context(), alice, tok); err != nil {
			t.Fatal(err)
		}
		if i < 1000 {
			early = append(early, tok)
		}
	}
	late := b.seal(t, b.s, alice, "late")
	b.open(t, b.s, true, alice, late, nil, "late")
	// The first thousand expire at ttl, the rest 10 s later.
	b.clock.Set(epoch0.Add(ttl + clockSkew - time.Millisecond))
	if n, err := b.s.Sweep(t.Context()); err != nil || n != 0 {
		t.Fatalf("Sweep before the first expiry + skew = %d, %v; want nothing yet", n, err)
	}
	b.clock.Advance(time.Millisecond)
	if n, err := b.s.Sweep(t.Context()); err != nil || n != 1000 {
		t.Fatalf("Sweep = %d, %v; want the first 1000", n, err)
	}
	if n := count(t, b.db, "mcp_requeststate_used"); n != 208 {
		t.Fatalf("%d used ids left; want 208", n)
	}
	// Their states are past opening anyway.
	for _, tok := range early[:3] {
		b.open(t, b.s, true, alice, tok, ErrExpired, "")
	}
	b.clock.Set(epoch0.Add(10*time.Second + ttl - time.Millisecond))
	b.open(t, b.s, true, alice, late, ErrReplayed, "")
	b.clock.Advance(time.Hour)
	if n, err := b.s.Sweep(t.Context()); err != nil || n != 208 {
		t.Fatalf("Sweep = %d, %v; want the other 208", n, err)
	}
	// Keys: the current epoch's stays.
	if n := count(t, b.db, "mcp_requeststate_keys"); n != 1 {
		t.Fatalf("%d keys; want 1", n)
	}
}

func keyID(t *testing.T, token string) uint64 {
	t.Helper()
	sealed, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		t.Fatal(err)
	}
	return binary.BigEndian.Uint64(sealed[1:headerLen])
}

func count(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(t.Context(), "SELECT count(*) FROM "+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
