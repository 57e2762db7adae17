package mcpgo

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// ReservedPrefix starts the top-level metadata keys the adapter keeps for
// itself. Application state (State, UpdateState, ModifyState) never sees
// them and may not set them.
//
// Each negotiated value has a top-level key of its own, rather than all of
// them sharing one "mcp" object, because Store.Update merges top-level keys:
// a touch, a log level change and an application update each write only
// their own keys and so never undo one another.
const ReservedPrefix = "mcp."

// The reserved keys. Values are what encoding/json makes of the mcp-go
// types; touchedAt is Unix milliseconds.
const (
	keyProtocolVersion    = ReservedPrefix + "protocolVersion"
	keyClientInfo         = ReservedPrefix + "clientInfo"
	keyClientCapabilities = ReservedPrefix + "clientCapabilities"
	keyLogLevel           = ReservedPrefix + "logLevel"
	keyTouchedAt          = ReservedPrefix + "touchedAt"
)

func isReserved(key string) bool { return strings.HasPrefix(key, ReservedPrefix) }

// negotiated is the metadata Create stores for an initialize request: what
// mcp-go's handleInitialize puts on the session object, computed the same
// way (mcp.NegotiateLegacyVersion is what it answers with).
func negotiated(req *mcp.InitializeRequest, now time.Time) map[string]any {
	return map[string]any{
		keyProtocolVersion:    mcp.NegotiateLegacyVersion(req.Params.ProtocolVersion),
		keyClientInfo:         req.Params.ClientInfo,
		keyClientCapabilities: req.Params.Capabilities,
		keyTouchedAt:          now.UnixMilli(),
	}
}

// restore sets what the session negotiated on the replica's session object,
// which on any replica but the one that served initialize starts empty. The
// log level is set only when one was stored: until logging/setLevel, mcp-go's
// own default applies everywhere.
func restore(cs server.ClientSession, meta map[string]any) {
	if s, ok := cs.(server.SessionWithClientInfo); ok {
		var info mcp.Implementation
		if decode(meta[keyClientInfo], &info) {
			s.SetClientInfo(info)
		}
		var caps mcp.ClientCapabilities
		if decode(meta[keyClientCapabilities], &caps) {
			s.SetClientCapabilities(caps)
		}
	}
	if s, ok := cs.(interface{ SetProtocolVersion(string) }); ok {
		if v, _ := meta[keyProtocolVersion].(string); v != "" {
			s.SetProtocolVersion(v)
		}
	}
	if s, ok := cs.(server.SessionWithLogging); ok {
		if v, _ := meta[keyLogLevel].(string); v != "" {
			s.SetLogLevel(mcp.LoggingLevel(v))
		}
	}
}

// decode converts a stored value (a map[string]any from a SQL store, or the
// original struct from a store that keeps values as given) into dst.
func decode(v, dst any) bool {
	if v == nil {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, dst) == nil
}

// touchedAt returns when a replica last wrote the session, by its clock, or
// the zero time.
func touchedAt(meta map[string]any) time.Time {
	switch v := meta[keyTouchedAt].(type) {
	case float64:
		return time.UnixMilli(int64(v))
	case int64:
		return time.UnixMilli(v)
	}
	return time.Time{}
}

// split returns the application keys of meta and the reserved ones.
func split(meta map[string]any) (app, reserved map[string]any) {
	app = make(map[string]any, len(meta))
	reserved = make(map[string]any, 5)
	for k, v := range meta {
		if isReserved(k) {
			reserved[k] = v
		} else {
			app[k] = v
		}
	}
	return app, reserved
}
