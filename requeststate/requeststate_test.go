package requeststate_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/testdb"
	"github.com/mcpsession/mcpsession/requeststate"
	"github.com/mcpsession/mcpsession/sqlstore"
)

func key(seed byte) []byte { return bytes.Repeat([]byte{seed}, requeststate.KeySize) }

// Bad options are refused at New, each with ErrInvalidOption, and leave
// the key ring as it was.
func TestNewRefusesBadOptions(t *testing.T) {
	t.Parallel()
	dsn := testdb.SQLiteFile(t)
	store := testdb.OpenStore(t, dsn)
	secret := key(0x5a)
	for name, opts := range map[string][]requeststate.Option{
		"nil option":              {nil},
		"TTL under 1s":            {requeststate.WithTTL(999 * time.Millisecond)},
		"TTL 0":                   {requeststate.WithTTL(0)},
		"TTL over 24h":            {requeststate.WithTTL(24*time.Hour + time.Second)},
		"rotation 0":              {requeststate.WithRotation(0)},
		"rotation negative":       {requeststate.WithRotation(-time.Hour)},
		"rotation over 7 days":    {requeststate.WithRotation(7*24*time.Hour + time.Second)},
		"rotation under 2 TTLs":   {requeststate.WithTTL(31 * time.Minute), requeststate.WithRotation(time.Hour)},
		"default TTL, rotation":   {requeststate.WithRotation(19 * time.Minute)},
		"no keys":                 {requeststate.WithKeys()},
		"short key":               {requeststate.WithKeys(secret[:16])},
		"long key":                {requeststate.WithKeys(append(secret, 1))},
		"zero key":                {requeststate.WithKeys(make([]byte, requeststate.KeySize))},
		"repeated key":            {requeststate.WithKeys(secret, key(1), secret)},
		"second key short":        {requeststate.WithKeys(secret, secret[1:])},
		"keys and rotation":       {requeststate.WithKeys(secret), requeststate.WithRotation(time.Hour)},
		"rotation and keys":       {requeststate.WithRotation(time.Hour), requeststate.WithKeys(secret)},
		"valid, then a bad one":   {requeststate.WithTTL(time.Minute), requeststate.WithTTL(0)},
		"nil option after a good": {requeststate.WithTTL(time.Minute), nil},
	} {
		s, err := requeststate.New(t.Context(), store, opts...)
		if !errors.Is(err, mcpsession.ErrInvalidOption) || s != nil {
			t.Errorf("%s: New = %v, %v; want nil, ErrInvalidOption", name, s, err)
			continue
		}
		if msg := err.Error(); strings.Contains(msg, string(secret)) || strings.Contains(msg, "5a5a") || strings.Contains(msg, "90 90") {
			t.Errorf("%s: error %q holds the key", name, msg)
		}
	}
	if _, err := requeststate.New(t.Context(), nil); !errors.Is(err, mcpsession.ErrInvalidOption) {
		t.Errorf("New(nil store) = %v; want ErrInvalidOption", err)
	}
	var n int
	if err := store.DB().QueryRowContext(t.Context(), `SELECT count(*) FROM mcp_requeststate_keys`).Scan(&n); err != nil || n != 0 {
		t.Fatalf("%d keys in the ring after refused options (%v); want none", n, err)
	}
	// The bounds themselves are accepted, and a TTL over half a day moves
	// the default rotation out to twice the TTL.
	for name, opts := range map[string][]requeststate.Option{
		"TTL 1s, rotation 2s":     {requeststate.WithTTL(time.Second), requeststate.WithRotation(2 * time.Second)},
		"TTL 24h":                 {requeststate.WithTTL(24 * time.Hour)},
		"rotation 7 days":         {requeststate.WithRotation(7 * 24 * time.Hour)},
		"keys, the first seals":   {requeststate.WithKeys(secret, key(1))},
		"default TTL, rotation20": {requeststate.WithRotation(20 * time.Minute)},
	} {
		if _, err := requeststate.New(t.Context(), store, opts...); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// Seal refuses what it cannot seal with ErrInvalidArgument, which is not a
// refusal of a state.
func TestSealRefusesBadArguments(t *testing.T) {
	t.Parallel()
	s, err := requeststate.New(t.Context(), testdb.OpenStore(t, testdb.SQLiteFile(t)))
	if err != nil {
		t.Fatal(err)
	}
	ok := requeststate.Request{Principal: "p", Method: "tools/call", Params: json.RawMessage(`{"name":"t"}`)}
	for name, tt := range map[string]struct {
		req   requeststate.Request
		state []byte
	}{
		"empty method":      {requeststate.Request{Principal: "p", Params: ok.Params}, nil},
		"method too long":   {requeststate.Request{Method: strings.Repeat("m", 255+1)}, nil},
		"state too large":   {ok, make([]byte, 64<<10+1)},
		"params not JSON":   {requeststate.Request{Method: "m", Params: json.RawMessage(`{"a":`)}, nil},
		"params two values": {requeststate.Request{Method: "m", Params: json.RawMessage(`1 2`)}, nil},
	} {
		tok, err := s.Seal(t.Context(), tt.req, tt.state)
		if !errors.Is(err, mcpsession.ErrInvalidArgument) || errors.Is(err, requeststate.ErrRefused) || tok != "" {
			t.Errorf("%s: Seal = %q, %v; want ErrInvalidArgument only", name, tok, err)
		}
	}
	// The limits themselves are accepted.
	long := requeststate.Request{Method: strings.Repeat("m", 255)}
	tok, err := s.Seal(t.Context(), long, make([]byte, 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(t.Context(), long, tok); err != nil || len(got) != 64<<10 {
		t.Fatalf("Open of the largest state = %d bytes, %v", len(got), err)
	}
}

// On a store that accepts no writes, the ring cannot be started; with
// given keys a Sealer seals and opens, and OpenOnce, which must write,
// fails with ErrReadOnly and is not a refusal.
func TestReadOnlyStore(t *testing.T) {
	t.Parallel()
	dsn := testdb.SQLiteFile(t)
	testdb.OpenStore(t, dsn) // migrated
	ro, err := sqlstore.Open(t.Context(), testdb.Dialect(dsn), dsn, sqlstore.WithReadOnly())
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, err := requeststate.New(t.Context(), ro); !errors.Is(err, mcpsession.ErrReadOnly) {
		t.Fatalf("New with the ring on a read-only store: %v; want ErrReadOnly", err)
	}
	s, err := requeststate.New(t.Context(), ro, requeststate.WithKeys(key(7)))
	if err != nil {
		t.Fatal(err)
	}
	req := requeststate.Request{Principal: "p", Method: "tools/call"}
	tok, err := s.Seal(t.Context(), req, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Open(t.Context(), req, tok); err != nil || string(got) != "x" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := s.OpenOnce(t.Context(), req, tok); !errors.Is(err, mcpsession.ErrReadOnly) || errors.Is(err, requeststate.ErrRefused) {
		t.Fatalf("OpenOnce on a read-only store: %v; want ErrReadOnly, not a refusal", err)
	}
}

// A store without the requeststate tables fails at New, not at the first
// Seal.
func TestNewWithoutMigrations(t *testing.T) {
	t.Parallel()
	dsn := testdb.SQLiteFile(t)
	store, err := sqlstore.Open(t.Context(), testdb.Dialect(dsn), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if _, err := requeststate.New(t.Context(), store); err == nil || !strings.Contains(err.Error(), "mcp_requeststate_keys") {
		t.Fatalf("New on an unmigrated store: %v; want the missing table named", err)
	}
}
