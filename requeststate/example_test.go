package requeststate_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/mcpsession/mcpsession/dialects/sqlite"
	"github.com/mcpsession/mcpsession/requeststate"
	"github.com/mcpsession/mcpsession/sqlstore"
)

// A tool asks for a confirmation on one replica, and the client's retry,
// carrying the sealed state back, lands on another. Both replicas share
// one database, and with it the key ring and the record of used states:
// neither was given a key.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "requeststate")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	dsn := "sqlite:" + filepath.Join(dir, "mcp.db")

	replica := func() (*requeststate.Sealer, *sqlstore.Store) {
		store, err := sqlstore.Open(ctx, sqlite.Dialect(), dsn, sqlstore.WithAutoMigrate())
		if err != nil {
			log.Fatal(err)
		}
		s, err := requeststate.New(ctx, store)
		if err != nil {
			log.Fatal(err)
		}
		return s, store
	}
	a, storeA := replica()
	defer storeA.Close()
	b, storeB := replica()
	defer storeB.Close()

	// Replica A: tools/call confirm {"action":"deploy"} needs an answer
	// first. What the handler must remember goes into the state.
	call := requeststate.Request{
		Principal: "user-1234", // who the server authenticated
		Method:    "tools/call",
		Params:    json.RawMessage(`{"name":"confirm","arguments":{"action":"deploy"}}`),
	}
	token, err := a.Seal(ctx, call, []byte(`{"step":"confirm"}`))
	if err != nil {
		log.Fatal(err)
	}
	// ... returned as the InputRequiredResult's requestState ...

	// Replica B: the retry, with the answer and the state added to the
	// params, which the state is not bound to.
	retry := call
	retry.Params = json.RawMessage(`{"name":"confirm","arguments":{"action":"deploy"},` +
		`"inputResponses":{"confirm":{"action":"accept","content":{"ok":true}}},"requestState":"` + token + `"}`)
	state, err := b.OpenOnce(ctx, retry, token)
	fmt.Println(string(state), err)

	// The same retry again, on either replica, is refused.
	_, err = a.OpenOnce(ctx, retry, token)
	fmt.Println(errors.Is(err, requeststate.ErrReplayed), errors.Is(err, requeststate.ErrRefused))

	// So is the state sent with other arguments, or by someone else.
	other := retry
	other.Params = json.RawMessage(`{"name":"confirm","arguments":{"action":"drop database"}}`)
	_, err = b.Open(ctx, other, token)
	fmt.Println(err)
	other = retry
	other.Principal = "user-5678"
	_, err = b.Open(ctx, other, token)
	fmt.Println(err)
	// Output:
	// {"step":"confirm"} <nil>
	// true true
	// requeststate: state sealed for another request
	// requeststate: state sealed for another principal
}

// With keys kept outside the database, the key ring is not used. To rotate,
// give every replica the new key first and keep the old one until the
// states it sealed have expired (the TTL, ten minutes by default).
func ExampleWithKeys() {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, sqlite.Dialect(), "sqlite::memory:", sqlstore.WithAutoMigrate())
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	// In production: from a secret manager, the same on every replica.
	oldKey, newKey := make([]byte, requeststate.KeySize), make([]byte, requeststate.KeySize)
	rand.Read(oldKey)
	rand.Read(newKey)

	before, err := requeststate.New(ctx, store, requeststate.WithKeys(oldKey))
	if err != nil {
		log.Fatal(err)
	}
	req := requeststate.Request{Principal: "user-1234", Method: "tools/call", Params: json.RawMessage(`{"name":"confirm"}`)}
	token, err := before.Seal(ctx, req, []byte("sealed under the old key"))
	if err != nil {
		log.Fatal(err)
	}

	after, err := requeststate.New(ctx, store, requeststate.WithKeys(newKey, oldKey))
	if err != nil {
		log.Fatal(err)
	}
	state, err := after.Open(ctx, req, token)
	fmt.Println(string(state), err)
	// Output:
	// sealed under the old key <nil>
}
