//lint:file-ignore SA1019 the session record keeps what sessions negotiated, roots and log level included, which the sessionless revision deprecates but session-based clients still use.

package gosdk

import (
	"encoding/json"

	"github.com/mcpsession/mcpsession/internal/record"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// keyRequestedVersion holds the protocol version the client asked for in
// initialize, when it differs from the one negotiated (which
// "mcp.protocolVersion" holds): go-sdk hands the requested one to handlers
// in InitializeParams, so every replica must restore it.
const keyRequestedVersion = record.ReservedPrefix + "requestedProtocolVersion"

// negotiated is the record initialize creates: what go-sdk's initialize
// put in the session's state, and what it answered.
func negotiated(params *mcp.InitializeParams, res *mcp.InitializeResult) map[string]any {
	m := map[string]any{record.KeyProtocolVersion: res.ProtocolVersion}
	if params.ClientInfo != nil {
		m[record.KeyClientInfo] = params.ClientInfo
	}
	if params.Capabilities != nil {
		m[record.KeyClientCapabilities] = wireCapabilities(params.Capabilities)
	}
	if params.ProtocolVersion != res.ProtocolVersion {
		m[keyRequestedVersion] = params.ProtocolVersion
	}
	return m
}

// wireCapabilities returns the capabilities as the client sent them. go-sdk
// keeps roots in two fields (#607): Roots, a struct that encoding/json always
// writes, and RootsV2, a pointer it never writes; the wire form has "roots"
// exactly when RootsV2 is set. The record keeps the wire form, which is also
// what the mcp-go adapter stores.
func wireCapabilities(caps *mcp.ClientCapabilities) map[string]any {
	var m map[string]any
	if !record.Decode(caps, &m) {
		return nil
	}
	delete(m, "roots")
	if caps.RootsV2 != nil {
		var roots map[string]any
		if record.Decode(caps.RootsV2, &roots) {
			m["roots"] = roots
		}
	}
	return m
}

// restoreCapabilities is the inverse of wireCapabilities.
func restoreCapabilities(v any) *mcp.ClientCapabilities {
	b, err := json.Marshal(v)
	if err != nil || v == nil {
		return nil
	}
	var caps mcp.ClientCapabilities
	if json.Unmarshal(b, &caps) != nil {
		return nil
	}
	var wire struct {
		Roots *mcp.RootCapabilities `json:"roots"`
	}
	if json.Unmarshal(b, &wire) == nil && wire.Roots != nil {
		caps.RootsV2 = wire.Roots
		caps.Roots.ListChanged = wire.Roots.ListChanged
	}
	return &caps
}

// restore builds the state of a go-sdk session re-created from its record,
// as go-sdk's own session had it on the replica that served initialize.
func restore(meta map[string]any) *mcp.ServerSessionState {
	version, _ := meta[record.KeyProtocolVersion].(string)
	requested, _ := meta[keyRequestedVersion].(string)
	if requested == "" {
		requested = version
	}
	params := &mcp.InitializeParams{
		ProtocolVersion: requested,
		Capabilities:    restoreCapabilities(meta[record.KeyClientCapabilities]),
	}
	var info mcp.Implementation
	if record.Decode(meta[record.KeyClientInfo], &info) {
		params.ClientInfo = &info
	}
	st := &mcp.ServerSessionState{
		InitializeParams:          params,
		NegotiatedProtocolVersion: version,
		LogLevel:                  mcp.LoggingLevel(storedLevel(meta)),
	}
	if done, _ := meta[record.KeyInitialized].(bool); done {
		st.InitializedParams = &mcp.InitializedParams{}
	}
	return st
}

// storedLevel is the session's log level in its record: "" until a
// logging/setLevel, which go-sdk takes as "send no log messages".
func storedLevel(meta map[string]any) string {
	v, _ := meta[record.KeyLogLevel].(string)
	return v
}
