package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/mcpsession/mcpsession"
)

// The tools, the same with either SDK: each SDK's file (mcpgo.go, gosdk.go)
// registers them with its own types and calls what is here.
const (
	serverName    = "mcpsession-example"
	serverVersion = "1.0.0"

	whoamiTool         = "whoami"
	whoamiDescription  = "The session's client name, protocol version and log level, as JSON."
	counterTool        = "counter"
	counterDescription = "Increments a counter and returns the new count. Without a handle it counts in the session " +
		"(protocol 2025-11-25 and older), or, without a session (2026-07-28), creates a new counter and returns " +
		"count 1 and its handle; pass that handle back to count on it, from any replica."
)

// counterArgs are the counter tool's arguments; both SDKs derive its
// input schema from this type.
type counterArgs struct {
	Handle string `json:"handle,omitempty" jsonschema:"The handle of a counter an earlier call returned. Omit it to count in the session, or, without one, to start a new counter."`
}

// counterOutput is the counter tool's structuredContent; both SDKs derive
// its output schema from this type. Handle is set when the count lives in
// a handle rather than in the session.
type counterOutput struct {
	Count  int64  `json:"count" jsonschema:"the new count"`
	Handle string `json:"handle,omitempty" jsonschema:"the handle the count lives in, to pass to later calls"`
}

// counterHelpers are the adapter's helpers that counter uses, so that one
// count serves both SDKs.
type counterHelpers struct {
	modifyState  func(ctx context.Context, fn func(map[string]any) (map[string]any, error)) error
	createHandle func(ctx context.Context, state map[string]any) (string, error)
	modifyHandle func(ctx context.Context, handle string, fn func(map[string]any) (map[string]any, error)) error
	errNoSession error
}

// count is the counter tool: on the handle when the call names one (in
// either protocol era); else in the session; else, with no session (the
// sessionless revision), on a new handle, which it returns. An unknown,
// expired or another principal's handle is an error matching
// mcpsession.ErrHandleNotFound, which the SDK's file turns into a tool
// error.
func (h counterHelpers) count(ctx context.Context, args counterArgs) (counterOutput, error) {
	var n int64
	if args.Handle != "" {
		if err := h.modifyHandle(ctx, args.Handle, increment(&n)); err != nil {
			return counterOutput{}, err
		}
		return counterOutput{Count: n, Handle: args.Handle}, nil
	}
	err := h.modifyState(ctx, increment(&n))
	if errors.Is(err, h.errNoSession) {
		handle, err := h.createHandle(ctx, map[string]any{"counter": 1})
		if err != nil {
			return counterOutput{}, err
		}
		return counterOutput{Count: 1, Handle: handle}, nil
	}
	if err != nil {
		return counterOutput{}, err
	}
	return counterOutput{Count: n}, nil
}

// bearerPrincipal is the example's principal, for demonstration only: a
// hash of the request's Authorization: Bearer token, or anonymous ("")
// without one. It verifies nothing: anyone who sends a token is its
// principal, and a refreshed token is another principal. A real server
// verifies the token first (go-sdk's auth.RequireBearerToken, or its own
// middleware) and returns the verified user's id.
func bearerPrincipal(r *http.Request) (string, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return "", nil
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return "bearer-sha256:" + hex.EncodeToString(sum[:]), nil
}

// whoami is what the whoami tool answers: what the session negotiated, as
// the SDK's own session object tells it on whichever replica serves the
// call. On a replica that did not serve initialize, the adapter has made
// that object from the database.
type whoami struct {
	Client          string `json:"client"`
	ProtocolVersion string `json:"protocolVersion"`
	// LogLevel is the level the SDK applies: the last logging/setLevel,
	// or before one the SDK's default (mcp-go: "error"; go-sdk: "", which
	// sends nothing).
	LogLevel string `json:"logLevel"`
}

func (w whoami) text() (string, error) {
	b, err := json.Marshal(w)
	return string(b), err
}

// increment is the counter tool's step, run by the adapter's ModifyState
// or ModifyHandle: the read and the write are one step under the row's
// lock, so concurrent calls on any replicas never lose an increment. It
// leaves the new value in n.
func increment(n *int64) func(state map[string]any) (map[string]any, error) {
	return func(state map[string]any) (map[string]any, error) {
		f, _ := state["counter"].(float64) // JSON numbers come back as float64
		*n = int64(f) + 1
		state["counter"] = *n
		return state, nil
	}
}

// counterText is the counter tool's answer.
func counterText(n int64) string { return strconv.FormatInt(n, 10) }

// toolError is what a tool tells the client when it failed: what the client
// can act on (an unknown or expired handle, bad arguments), else a generic
// "try again", while the detail, which may name the database's host and
// user, goes to the log.
func toolError(ctx context.Context, logger *slog.Logger, tool string, err error) string {
	switch {
	case errors.Is(err, mcpsession.ErrHandleNotFound):
		return tool + ": unknown or expired handle"
	case errors.Is(err, errArguments):
		return tool + ": invalid arguments"
	}
	logger.LogAttrs(ctx, slog.LevelError, "tool failed", slog.String("tool", tool), slog.String("error", err.Error()))
	return tool + ": the server could not do that now; try again"
}

// errArguments marks a tool call whose arguments did not decode.
var errArguments = errors.New("invalid arguments")

// The streams tools (issue 11): a server-to-client request and a
// notification, each able to cross replicas.
const (
	sampleTool        = "sample"
	sampleDescription = "Asks the client to sample a reply to prompt (sampling/createMessage) and returns the sampled text. " +
		"Needs a session (protocol 2025-11-25 and older) and a client that samples; the client may answer on any replica."
	notifyTool        = "notify"
	notifyDescription = "Sends notifications/message with message as its data to this session's GET stream, on whichever " +
		"replica it is open, or keeps it for the client to resume. Needs a session (protocol 2025-11-25 and older)."
	// notifySent is notify's answer.
	notifySent = "sent"
	// sampleMaxTokens bounds what the client samples.
	sampleMaxTokens = 256
)

// sampleArgs are the sample tool's arguments.
type sampleArgs struct {
	Prompt string `json:"prompt" jsonschema:"What the client is asked to reply to."`
}

// notifyArgs are the notify tool's arguments.
type notifyArgs struct {
	Message string `json:"message" jsonschema:"The data of the notifications/message sent."`
}

// notifyParams are the params of notify's notifications/message.
func notifyParams(message string) map[string]any {
	return map[string]any{"level": "info", "logger": serverName, "data": message}
}

// needsSession is what sample and notify tell a client that called them
// without a session.
func needsSession(tool string) string {
	return tool + ": needs a session (protocol 2025-11-25 or older): the sessionless revision has no server-to-client requests and no GET stream"
}
