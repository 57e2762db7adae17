package mcpgo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/internal/relay"
)

// fullSession is what mcp-go v1.2's streamable-HTTP session implements,
// but for sampling and roots, which relayedSession does its own way.
type fullSession interface {
	server.SessionWithLogging
	server.SessionWithTools
	server.SessionWithResources
	server.SessionWithResourceTemplates
	server.SessionWithClientInfo
	server.SessionWithStreamableHTTPConfig
	server.SessionWithSubscriptionFilter
	server.SessionWithElicitation
	server.SessionWithProtocolVersion
	SetProtocolVersion(version string)
}

// relayedSession is mcp-go's session of a request, but for the
// server-to-client requests mcp-go sends on the standalone GET stream:
// sampling/createMessage and roots/list. mcp-go queues those for the GET
// stream of its own replica only, and waits for the answer there; here
// they go on the session's stream in the event store, which the replica
// holding the client's GET serves, with a wire id, and the answer, POSTed
// to any replica, comes back over the bus. Elicitation, which mcp-go sends
// on the POST's own stream, stays mcp-go's (its id is made a wire id on the
// way out, and its answer routed the same way).
type relayedSession struct {
	fullSession
	relay *relay.Relay
}

var (
	_ server.SessionWithSampling = (*relayedSession)(nil)
	_ server.SessionWithRoots    = (*relayedSession)(nil)
)

// RequestSampling implements server.SessionWithSampling.
func (s *relayedSession) RequestSampling(ctx context.Context, request mcp.CreateMessageRequest) (*mcp.CreateMessageResult, error) {
	raw, err := s.call(ctx, mcp.MethodSamplingCreateMessage, request.CreateMessageParams)
	if err != nil {
		return nil, err
	}
	var result mcp.CreateMessageResult
	if err := json.Unmarshal(raw, &result); err != nil {
		return nil, fmt.Errorf("failed to unmarshal sampling response: %w", err)
	}
	// As mcp-go does: content comes as a map, which becomes its type.
	content, err := mcp.ParseSamplingContent(result.Content)
	if err != nil {
		return nil, fmt.Errorf("failed to parse sampling response content: %w", err)
	}
	result.Content = content
	return &result, nil
}

// ListRoots implements server.SessionWithRoots.
func (s *relayedSession) ListRoots(ctx context.Context, _ mcp.ListRootsRequest) (*mcp.ListRootsResult, error) {
	raw, err := s.call(ctx, mcp.MethodListRoots, nil)
	if err != nil {
		return nil, err
	}
	var result mcp.ListRootsResult
	if err := json.Unmarshal(raw, &result); err != nil {
		return nil, fmt.Errorf("failed to unmarshal list roots response: %w", err)
	}
	return &result, nil
}

// call sends the request and waits for its answer; a client's error comes
// back worded as mcp-go words it.
func (s *relayedSession) call(ctx context.Context, method mcp.MCPMethod, params any) (json.RawMessage, error) {
	raw, err := s.relay.Call(ctx, s.SessionID(), string(method), params)
	if rpcErr, ok := errors.AsType[*relay.RPCError](err); ok {
		return nil, fmt.Errorf("%s error %d: %s", method, rpcErr.Code, rpcErr.Message)
	}
	return raw, err
}
