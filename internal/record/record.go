// Package record is the format of a session's record as the SDK adapters
// keep it: the reserved keys under which each negotiated value lives, and
// the split between those and the application's state. Both adapters
// write the same keys, so a session initialized through one is served by
// the other.
package record

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mcpsession/mcpsession"
)

// ReservedPrefix starts the top-level metadata keys the adapters keep for
// themselves (mcpsession.ReservedPrefix). Application state never sees them
// and may not set them.
//
// Each negotiated value has a top-level key of its own, rather than all of
// them sharing one "mcp" object, because Store.Update merges top-level keys:
// a touch, a log level change and an application update each write only
// their own keys and so never undo one another.
const ReservedPrefix = mcpsession.ReservedPrefix

// The reserved keys. Values are what encoding/json makes of the SDK's
// types; touchedAt is Unix milliseconds by the clock of the replica that
// wrote it.
const (
	KeyProtocolVersion    = ReservedPrefix + "protocolVersion"
	KeyClientInfo         = ReservedPrefix + "clientInfo"
	KeyClientCapabilities = ReservedPrefix + "clientCapabilities"
	KeyLogLevel           = ReservedPrefix + "logLevel"
	KeyTouchedAt          = ReservedPrefix + "touchedAt"
	// KeyInitialized is true once a replica has handled the client's
	// notifications/initialized. The go-sdk adapter keeps it, because
	// go-sdk tracks that step in its session state; mcp-go does not.
	KeyInitialized = ReservedPrefix + "initialized"
	// KeyPrincipal holds the principal that started a session. Every
	// later request of the session must come from the same principal. A
	// record without it (made before principals were recorded) belongs to
	// the anonymous principal.
	KeyPrincipal = ReservedPrefix + "principal"
)

// IsReserved reports whether key belongs to the adapters.
func IsReserved(key string) bool { return strings.HasPrefix(key, ReservedPrefix) }

// Split returns the application keys of meta and the reserved ones, in two
// new maps.
func Split(meta map[string]any) (app, reserved map[string]any) {
	app = make(map[string]any, len(meta))
	reserved = make(map[string]any, 6)
	for k, v := range meta {
		if IsReserved(k) {
			reserved[k] = v
		} else {
			app[k] = v
		}
	}
	return app, reserved
}

// CheckKeys returns an error wrapping sentinel, naming the key, if m holds
// a reserved key.
func CheckKeys(m map[string]any, sentinel error) error {
	for k := range m {
		if IsReserved(k) {
			return fmt.Errorf("%w: %q (keys starting with %q belong to the adapter)", sentinel, k, ReservedPrefix)
		}
	}
	return nil
}

// TouchedAt returns when a replica last wrote the session, by that
// replica's clock, or the zero time.
func TouchedAt(meta map[string]any) time.Time {
	switch v := meta[KeyTouchedAt].(type) {
	case float64:
		return time.UnixMilli(int64(v))
	case int64:
		return time.UnixMilli(v)
	}
	return time.Time{}
}

// Principal is the principal that started the session meta records.
func Principal(meta map[string]any) string {
	p, _ := meta[KeyPrincipal].(string)
	return p
}

// Decode converts a stored value (a map[string]any from a SQL store, or the
// original struct from a store that keeps values as given) into dst, and
// reports whether it could.
func Decode(v, dst any) bool {
	if v == nil {
		return false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return false
	}
	return json.Unmarshal(b, dst) == nil
}
