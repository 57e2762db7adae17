package main

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// The tools, the same with either SDK: each SDK's file (mcpgo.go, gosdk.go)
// registers them with its own types and calls what is here.
const (
	serverName    = "mcpsession-example"
	serverVersion = "1.0.0"

	whoamiTool         = "whoami"
	whoamiDescription  = "The session's client name, protocol version and log level, as JSON."
	counterTool        = "counter"
	counterDescription = "Increments this session's counter and returns the new value."
)

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

// increment is the counter tool's step, run by the adapter's ModifyState:
// the read and the write are one step under the session's lock, so
// concurrent calls on any replicas never lose an increment. It leaves the
// new value in n.
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

// counterError is the counter tool's error text, for a call with no
// session (the sessionless revision) or a session store that failed.
func counterError(err error) string { return fmt.Sprintf("counter: %v", err) }
