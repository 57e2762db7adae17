// Package adapter is the face the SDK adapters (module mcpgo for mcp-go,
// module gosdk for the official go-sdk) share: everything they do alike,
// written once, which each re-exports under the same names.
//
//   - The options every adapter takes (Settings: touch interval, logger,
//     principal function, streams across replicas) and their checks.
//   - The Core: a session's record read for a request, its expiry slid
//     through the touch gate, created, written and deleted; the
//     principal of each request and the check that a session serves only
//     the principal that started it; the rate-limited log of store
//     failures; Notify and Broadcast over the relay.
//   - The helpers a tool handler calls, which find the Core in the
//     request's context (Bind): the state helpers of a session (State,
//     UpdateState, ModifyState) and the state handle helpers (Principal,
//     CreateHandle, …).
//
// A helper both adapters gain (tasks, sealed request state) belongs here,
// with a one-line wrapper in each adapter. Each adapter keeps only what
// depends on its SDK. The pieces with a reason of their own to change are
// packages beside this one: record (the reserved keys), touchgate,
// principal, httpstatus (the answers both adapters give), logredact and
// memo.
package adapter
