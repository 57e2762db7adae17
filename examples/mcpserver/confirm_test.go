package main

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mcpsession/mcpsession/internal/adaptertest"
	gomcp "github.com/modelcontextprotocol/go-sdk/mcp"
)

// The confirm tool across two replicas (issue 22): the retry of a multi
// round-trip request opens on the other replica, once; everything else is
// refused there and here with one JSON-RPC error that says no more.

// confirmReply is what a raw tools/call confirm got: a result (an
// InputRequiredResult, or text) or a JSON-RPC error.
type confirmReply struct {
	ResultType    string                     `json:"resultType"`
	RequestState  string                     `json:"requestState"`
	InputRequests map[string]json.RawMessage `json:"inputRequests"`
	Content       []struct {
		Text string `json:"text"`
	} `json:"content"`
	IsError bool `json:"isError"`
	// The JSON-RPC error's.
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func (r confirmReply) text() string {
	if len(r.Content) == 0 {
		return ""
	}
	return r.Content[0].Text
}

// confirmRaw sends tools/call confirm of the sessionless revision to url,
// as the principal of bearer token (none when ""), with the state and the
// answer ("yes", "no"; none when "") when given.
func confirmRaw(t *testing.T, url, token, action, state, answer string) confirmReply {
	t.Helper()
	params := map[string]any{
		"name":      confirmTool,
		"arguments": map[string]any{"action": action},
		"_meta": map[string]any{
			"io.modelcontextprotocol/protocolVersion":    adaptertest.ModernVersion,
			"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "raw", "version": "1.0"},
			"io.modelcontextprotocol/clientCapabilities": map[string]any{"elicitation": map[string]any{"form": map[string]any{}}},
		},
	}
	if state != "" {
		params["requestState"] = state
	}
	if answer != "" {
		params["inputResponses"] = map[string]any{confirmInput: map[string]any{"action": "accept", "content": map[string]any{"answer": answer}}}
	}
	var header http.Header
	if token != "" {
		header = http.Header{"Authorization": {"Bearer " + token}}
	}
	status, res := adaptertest.CallModern(t, url, header, "tools/call", params)
	if status == http.StatusBadRequest {
		// Both SDKs answer an error of the request's params, in the
		// sessionless revision, with 400 and the JSON-RPC error.
		var msg struct {
			Error json.RawMessage `json:"error"`
		}
		if json.Unmarshal(res, &msg) == nil && msg.Error != nil {
			status, res = http.StatusOK, msg.Error
		}
	}
	if status != http.StatusOK {
		t.Fatalf("tools/call confirm: %d %s", status, res)
	}
	var r confirmReply
	if err := json.Unmarshal(res, &r); err != nil {
		t.Fatalf("tools/call confirm: %v in %s", err, res)
	}
	return r
}

// ask is confirmRaw's first call, which must ask.
func ask(t *testing.T, url, token, action string) string {
	t.Helper()
	r := confirmRaw(t, url, token, action, "", "")
	if r.ResultType != "input_required" || r.RequestState == "" || r.InputRequests[confirmInput] == nil {
		t.Fatalf("confirm %s: %+v; want an InputRequiredResult with a requestState and inputRequests.%s", action, r, confirmInput)
	}
	return r.RequestState
}

// refused checks that r is the one refusal: -32602, "invalid requestState".
func refused(t *testing.T, what string, r confirmReply) {
	t.Helper()
	if r.Code != -32602 || r.Message != "invalid requestState" || strings.Contains(r.text(), "confirmed") {
		t.Errorf("%s: %+v; want the JSON-RPC error -32602 \"invalid requestState\"", what, r)
	}
}

func TestE2EConfirm(t *testing.T) {
	t.Parallel()
	eachSDK(t, func(t *testing.T, sdk, dsn string) {
		c := newCluster(t, sdk, dsn, testIdle)
		a, b := c.replica(0).url, c.replica(1).url

		t.Run("raw", func(t *testing.T) {
			tok := ask(t, a, "alice", "deploy")
			// Refusals on either replica use nothing up.
			refused(t, "another principal", confirmRaw(t, b, "bob", "deploy", tok, "yes"))
			refused(t, "the anonymous principal", confirmRaw(t, a, "", "deploy", tok, "yes"))
			refused(t, "another argument", confirmRaw(t, b, "alice", "drop database", tok, "yes"))
			refused(t, "tampered", confirmRaw(t, a, "alice", "deploy", tamper(tok), "yes"))
			refused(t, "not a state", confirmRaw(t, b, "alice", "deploy", "not-a-state", "yes"))
			if r := confirmRaw(t, b, "alice", "deploy", tok, "yes"); r.text() != "confirmed deploy" || r.IsError {
				t.Fatalf("the retry on the other replica: %+v; want \"confirmed deploy\"", r)
			}
			refused(t, "replayed on the replica that opened it", confirmRaw(t, b, "alice", "deploy", tok, "yes"))
			refused(t, "replayed on the replica that sealed it", confirmRaw(t, a, "alice", "deploy", tok, "yes"))

			tok = ask(t, b, "alice", "deploy")
			if r := confirmRaw(t, a, "alice", "deploy", tok, "no"); r.text() != "declined deploy" {
				t.Errorf("no: %+v; want \"declined deploy\"", r)
			}
			refused(t, "replayed after no", confirmRaw(t, b, "alice", "deploy", tok, "yes"))

			// A retry without the answer is asked again, with a new state.
			tok = ask(t, a, "", "restart")
			again := confirmRaw(t, b, "", "restart", tok, "")
			if again.ResultType != "input_required" || again.RequestState == "" || again.RequestState == tok {
				t.Fatalf("a retry without the answer: %+v; want a new InputRequiredResult", again)
			}
			if r := confirmRaw(t, a, "", "restart", again.RequestState, "yes"); r.text() != "confirmed restart" {
				t.Errorf("the anonymous principal's retry: %+v; want \"confirmed restart\"", r)
			}
		})

		// The real clients, at their defaults (2026-07-28: the retry
		// carries the state) and pinned to 2025-11-25 (the SDK asks the
		// client itself, elicitation/create on the call's stream, and the
		// client POSTs its answer): round-robin, then with every call on a
		// and every answer POSTed to b, where the adapter's streams across
		// replicas hand it to the handler waiting on a.
		for _, cl := range confirmClients {
			t.Run(cl.name+" client", func(t *testing.T) {
				for _, mode := range []string{"default", "pinned", "pinned, answers on b"} {
					pinned := mode != "default"
					var next atomic.Int64
					if mode == "pinned, answers on b" {
						c.routeBy(func(method string) int {
							switch method {
							case "tools/call":
								return 0
							case "": // a client's answer has no method
								return 1
							}
							return int(next.Add(1) % 2)
						})
					}
					var asked atomic.Int32
					call := cl.connect(t, c.url, pinned, &asked)
					c.hops()
					ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
					text, err := call(ctx, "deploy")
					cancel()
					c.routeBy(nil)
					if err != nil {
						t.Fatalf("%s: %v", mode, err)
					}
					if text != "confirmed deploy" || asked.Load() != 1 {
						t.Errorf("%s: %q after %d elicitations; want \"confirmed deploy\" after 1", mode, text, asked.Load())
					}
					if pinned { // the client's one answer: see awaitHop
						c.awaitHop(1, func(h hop) bool { return h.rpcMethod == "" })
					}
					hops := c.hops()
					switch mode {
					case "default":
						// The first call and its retry, one on each replica.
						if served := toolReplicas(hops); served != [2]int{1, 1} {
							t.Errorf("tools/call per replica: %v; want one each", served)
						}
					case "pinned, answers on b":
						answers := 0
						for _, h := range hops {
							if h.rpcMethod == "" && h.replica == 1 {
								answers++
							}
						}
						if served := toolReplicas(hops); served != [2]int{1, 0} || answers != 1 {
							t.Errorf("tools/call per replica: %v, answers POSTed to b: %d; want the call on a, its answer on b", served, answers)
						}
					}
				}
			})
		}
	})
}

// A state expires on the TTL, and a key rotation between the first call
// and the retry does not stop the retry: the replicas seal with a new key,
// and open with the old one until its states have expired.
func TestE2EConfirmExpiryAndRotation(t *testing.T) {
	t.Parallel()
	const ttl, rotation = 3 * time.Second, 6 * time.Second
	eachSDK(t, func(t *testing.T, sdk, dsn string) {
		c := newTunedCluster(t, sdk, dsn, testIdle, func(rc *replicaConfig) {
			rc.stateTTL, rc.stateRotation = ttl, rotation
		})
		a, b := c.replica(0).url, c.replica(1).url
		t.Run("expiry", func(t *testing.T) {
			t.Parallel()
			tok := ask(t, a, "alice", "deploy")
			time.Sleep(ttl + 100*time.Millisecond) // the wall clock decides; nothing signals it
			refused(t, "expired", confirmRaw(t, b, "alice", "deploy", tok, "yes"))
		})
		t.Run("rotation", func(t *testing.T) {
			t.Parallel()
			// Epochs are the wall clock's, in whole rotations since the Unix
			// epoch; the test waits for the clock, which nothing signals.
			intoEpoch := func() time.Duration { return time.Duration(time.Now().UnixNano() % int64(rotation)) }
			// Seal late in an epoch, so that the next one begins well
			// within the TTL.
			if late := rotation - ttl/3; intoEpoch() < late {
				time.Sleep(late - intoEpoch())
			}
			tok := ask(t, a, "alice", "deploy")
			sealedWith := keyID(t, tok)
			// Then wait into the next epoch (the key ring's id is the
			// epoch's number).
			next := time.UnixMilli(int64(sealedWith+1) * rotation.Milliseconds())
			time.Sleep(time.Until(next) + 10*time.Millisecond)
			if fresh := keyID(t, ask(t, b, "alice", "other")); fresh != sealedWith+1 {
				t.Fatalf("after the rotation the replicas seal with key %d; want %d", fresh, sealedWith+1)
			}
			if r := confirmRaw(t, b, "alice", "deploy", tok, "yes"); r.text() != "confirmed deploy" {
				t.Errorf("the retry after a rotation: %+v; want \"confirmed deploy\"", r)
			}
		})
	})
}

// keyID reads the id of the key that sealed tok (its bytes 1 to 8; see
// requeststate's token.go): the ring's epoch.
func keyID(t *testing.T, tok string) uint64 {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) < 9 {
		t.Fatalf("a token that is not one: %v", err)
	}
	return binary.BigEndian.Uint64(raw[1:9])
}

// tamper changes one character in the middle of tok.
func tamper(tok string) string {
	b := []byte(tok)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// confirmClients are the real clients, each connected through url at its
// defaults (2026-07-28) or pinned to 2025-11-25, whose user answers yes;
// call calls confirm.
var confirmClients = []struct {
	name    string
	connect func(t *testing.T, url string, pinned bool, asked *atomic.Int32) (call func(ctx context.Context, action string) (string, error))
}{
	{"mcp-go", confirmMCPGo},
	{"go-sdk", confirmGoSDK},
}

func confirmMCPGo(t *testing.T, url string, pinned bool, asked *atomic.Int32) func(context.Context, string) (string, error) {
	t.Helper()
	tr, err := transport.NewStreamableHTTP(url)
	if err != nil {
		t.Fatal(err)
	}
	opts := []client.ClientOption{client.WithElicitationHandler(yes{asked})}
	if pinned {
		opts = append(opts, client.WithProtocolVersion(mcp.LATEST_LEGACY_PROTOCOL_VERSION))
	}
	cl := client.NewClient(tr, opts...)
	t.Cleanup(func() { cl.Close() })
	if err := cl.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	initialize(t, cl, "confirm")
	return func(ctx context.Context, action string) (string, error) {
		res, err := cl.CallTool(ctx, mcp.CallToolRequest{Params: mcp.CallToolParams{Name: confirmTool, Arguments: map[string]any{"action": action}}})
		if err != nil {
			return "", err
		}
		text, _ := res.Content[0].(mcp.TextContent)
		return text.Text, nil
	}
}

func confirmGoSDK(t *testing.T, url string, pinned bool, asked *atomic.Int32) func(context.Context, string) (string, error) {
	t.Helper()
	c := gomcp.NewClient(&gomcp.Implementation{Name: "confirm", Version: "1.0.0"}, &gomcp.ClientOptions{
		ElicitationHandler: func(context.Context, *gomcp.ElicitRequest) (*gomcp.ElicitResult, error) {
			asked.Add(1)
			return &gomcp.ElicitResult{Action: "accept", Content: map[string]any{"answer": "yes"}}, nil
		},
	})
	var opts *gomcp.ClientSessionOptions
	if pinned {
		opts = &gomcp.ClientSessionOptions{ProtocolVersion: "2025-11-25"}
	}
	cs, err := c.Connect(t.Context(), &gomcp.StreamableClientTransport{Endpoint: url}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return func(ctx context.Context, action string) (string, error) {
		res, err := cs.CallTool(ctx, &gomcp.CallToolParams{Name: confirmTool, Arguments: map[string]any{"action": action}})
		if err != nil {
			return "", err
		}
		if text, ok := res.Content[0].(*gomcp.TextContent); ok {
			return text.Text, nil
		}
		return "", nil
	}
}

// yes is a user who says yes.
type yes struct{ asked *atomic.Int32 }

func (y yes) Elicit(context.Context, mcp.ElicitationRequest) (*mcp.ElicitationResult, error) {
	y.asked.Add(1)
	return &mcp.ElicitationResult{ElicitationResponse: mcp.ElicitationResponse{
		Action: mcp.ElicitationResponseActionAccept, Content: map[string]any{"answer": "yes"},
	}}, nil
}
