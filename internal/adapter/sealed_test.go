package adapter

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/principal"
	"github.com/mcpsession/mcpsession/internal/testdb"
)

// Without WithSealer, the sealed-state helpers fail with an error that
// matches mcpsession.ErrUnsupported and says what is missing, not that the
// store lacks something.
func TestSealedStateNoSealer(t *testing.T) {
	t.Parallel()
	c, err := New(Config{Name: "test", Store: testdb.OpenStore(t, "sqlite::memory:")})
	if err != nil {
		t.Fatal(err)
	}
	ctx := WithRequest(principal.With(c.Bind(context.Background()), "alice"), "tools/call", map[string]any{"name": "confirm"})
	_, sealErr := SealState(ctx, []byte("state"))
	_, openErr := OpenState(ctx, "token", true)
	for what, err := range map[string]error{"SealState": sealErr, "OpenState": openErr} {
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if !errors.Is(err, mcpsession.ErrUnsupported) || !strings.Contains(msg, "no requeststate.Sealer") ||
			!strings.Contains(msg, "WithSealer") || strings.Contains(msg, "store") {
			t.Errorf("%s: %v; want an error matching ErrUnsupported that names the missing Sealer and WithSealer, not the store", what, err)
		}
	}
}
