package mcpgo

import (
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/internal/record"
)

// The reserved keys this adapter writes. Values are what encoding/json
// makes of the mcp-go types; touchedAt is Unix milliseconds.
const (
	keyProtocolVersion    = record.KeyProtocolVersion
	keyClientInfo         = record.KeyClientInfo
	keyClientCapabilities = record.KeyClientCapabilities
	keyLogLevel           = record.KeyLogLevel
	keyTouchedAt          = record.KeyTouchedAt
	// keyDelivery is the session's relay.DeliveryMark: which GET stream
	// serves its standalone stream, and what GET streams sent of it.
	keyDelivery = record.ReservedPrefix + "delivery"
)

// negotiated is the metadata Create stores for an initialize request: what
// mcp-go's handleInitialize puts on the session object, computed the same
// way (mcp.NegotiateLegacyVersion is what it answers with).
func negotiated(req *mcp.InitializeRequest) map[string]any {
	return map[string]any{
		keyProtocolVersion:    mcp.NegotiateLegacyVersion(req.Params.ProtocolVersion),
		keyClientInfo:         req.Params.ClientInfo,
		keyClientCapabilities: req.Params.Capabilities,
	}
}

// restore sets what the session negotiated on the replica's session object,
// which on any replica but the one that served initialize starts empty (and
// mcp-go makes a new one for each request of a session without a GET
// stream here). The client's info and capabilities are decoded once per
// session and replica (see memo.Memo). The log level is set every
// time, to mcp-go's own default (error) until a logging/setLevel is stored:
// mcp-go applies a setLevel to its session object before the adapter's
// hook stores it, so a replica whose write failed would otherwise keep a
// level no other replica has.
func (s *Sessions) restore(cs server.ClientSession, meta map[string]any) {
	if sc, ok := cs.(server.SessionWithClientInfo); ok {
		id := cs.SessionID()
		if info, ok := s.infos.Decode(id, meta[keyClientInfo], decodeAs[mcp.Implementation]); ok {
			sc.SetClientInfo(info)
		}
		if caps, ok := s.caps.Decode(id, meta[keyClientCapabilities], decodeAs[mcp.ClientCapabilities]); ok {
			sc.SetClientCapabilities(caps)
		}
	}
	if sv, ok := cs.(interface{ SetProtocolVersion(string) }); ok {
		if v, _ := meta[keyProtocolVersion].(string); v != "" {
			sv.SetProtocolVersion(v)
		}
	}
	if sl, ok := cs.(server.SessionWithLogging); ok {
		level := mcp.LoggingLevelError
		if v, _ := meta[keyLogLevel].(string); v != "" {
			level = mcp.LoggingLevel(v)
		}
		sl.SetLogLevel(level)
	}
}

func decodeAs[T any](raw any) (T, bool) {
	var v T
	ok := record.Decode(raw, &v)
	return v, ok
}
