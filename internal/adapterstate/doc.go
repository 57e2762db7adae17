// Package adapterstate is what the SDK adapters (module mcpgo for mcp-go,
// module gosdk for the official go-sdk) share: the reserved metadata keys
// under which a session's negotiated values live, the split between those
// and the application's state, the touch gate that keeps a busy session to
// one store write per touch interval, and the state helpers built on them;
// request principals (PrincipalFunc, the check that a session serves only
// the principal that started it) and the state handle helpers.
// Each adapter keeps only what depends on its SDK.
//
// It is internal to the mcpsession module tree: any module whose path is
// under github.com/mcpsession/mcpsession may import it, and nobody else.
// The adapters' exported names (ReservedPrefix, DefaultTouchInterval,
// their sentinel errors) are the public face of what is here.
package adapterstate
