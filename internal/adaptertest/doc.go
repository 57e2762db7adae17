// Package adaptertest is what the tests of the SDK adapters (mcpgo, gosdk)
// and of the example server share:
//
//   - MCP's streamable HTTP spoken by hand (Post, Send, Initialize, Call,
//     Tool): JSON-RPC messages built as maps, sent with net/http, answers
//     read from JSON or from the SSE events of a text/event-stream body. It
//     knows no SDK, so one set of helpers tests both adapters, including
//     what no SDK client would send (unknown ids, missing headers).
//   - CountingStore, a real store that counts the calls reaching it and can
//     fail its updates as an outage would.
//   - Clock, a clock the test steps by hand.
package adaptertest
