package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// The protocol revisions the generator speaks: a legacy session pinned to
// the newest revision that has them, and the sessionless revision.
const (
	legacyVersion      = "2025-11-25"
	sessionlessVersion = "2026-07-28"
)

// mcpClient speaks MCP's streamable HTTP at the wire level, with nothing
// between the scheduler and the request that an SDK client would add
// (retries, reconnects, its own queues): one operation is one request,
// sent when the timeline says.
type mcpClient struct {
	url     string
	hc      *http.Client
	timeout time.Duration // each request's bound, GET streams apart
	ids     atomic.Int64
}

// newTransport keeps enough idle connections per host that an open-loop
// burst reuses them rather than dialling (Go's default keeps 2).
func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: 1 << 14,
		IdleConnTimeout:     60 * time.Second,
		DisableCompression:  true,
	}
}

func newMCPClient(url string, timeout time.Duration) *mcpClient {
	return &mcpClient{url: url, hc: &http.Client{Transport: newTransport()}, timeout: timeout}
}

func (c *mcpClient) close() { c.hc.CloseIdleConnections() }

// toolResult is what a tools/call answered.
type toolResult struct {
	text       string
	structured map[string]any
}

type rpcResponse struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// caller says who sends a request and in which era: a legacy session's id,
// or none for a sessionless request; the principal's bearer token, or none.
type caller struct {
	session string
	token   string
}

func (c *mcpClient) headers(who caller, version string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json, text/event-stream")
	if version != "" {
		h.Set("MCP-Protocol-Version", version)
	}
	if who.session != "" {
		h.Set("Mcp-Session-Id", who.session)
	}
	if who.token != "" {
		h.Set("Authorization", "Bearer "+who.token)
	}
	return h
}

// classify turns a transport error into its kind.
func classify(ctx context.Context, err error) error {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil || (errors.As(err, &ne) && ne.Timeout()):
		return failed("timeout", err)
	default:
		return failed("transport", err)
	}
}

// call POSTs one JSON-RPC request (id set) or notification (id nil) and
// returns the response headers and, for a request, its response.
func (c *mcpClient) call(ctx context.Context, h http.Header, method string, params any, isNotification bool) (http.Header, *rpcResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	msg := map[string]any{"jsonrpc": "2.0", "method": method}
	if params != nil {
		msg["params"] = params
	}
	var id int64
	if !isNotification {
		id = c.ids.Add(1)
		msg["id"] = id
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return nil, nil, failed("encode", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, failed("request", err)
	}
	req.Header = h
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, classify(ctx, err)
	}
	defer func() {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
	if isNotification {
		if resp.StatusCode != http.StatusAccepted && resp.StatusCode != http.StatusOK {
			return resp.Header, nil, failed("http "+strconv.Itoa(resp.StatusCode), nil)
		}
		return resp.Header, nil, nil
	}
	if resp.StatusCode != http.StatusOK {
		return resp.Header, nil, failed("http "+strconv.Itoa(resp.StatusCode), nil)
	}
	res, err := readResponse(resp, id)
	if err != nil {
		if ctx.Err() != nil {
			return resp.Header, nil, classify(ctx, err)
		}
		return resp.Header, nil, err
	}
	if res.Error != nil {
		return resp.Header, res, failed("rpc error "+strconv.Itoa(res.Error.Code), errors.New(res.Error.Message))
	}
	return resp.Header, res, nil
}

// readResponse reads the response to request id from a JSON body or an
// SSE stream (where other messages may come first).
func readResponse(resp *http.Response, id int64) (*rpcResponse, error) {
	want := strconv.FormatInt(id, 10)
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct != "text/event-stream" {
		var r rpcResponse
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			return nil, failed("decode", err)
		}
		if string(r.ID) != want {
			return nil, failed("decode", fmt.Errorf("response id %s; want %s", r.ID, want))
		}
		return &r, nil
	}
	var found *rpcResponse
	err := readSSE(resp.Body, func(data []byte) bool {
		var r rpcResponse
		if json.Unmarshal(data, &r) == nil && string(r.ID) == want && (r.Result != nil || r.Error != nil) {
			found = &r
			return false
		}
		return true
	})
	if found != nil {
		return found, nil
	}
	if err == nil {
		err = errors.New("the stream ended without the response")
	}
	return nil, failed("decode", err)
}

// readSSE calls event with each event's data until it returns false or the
// stream ends.
func readSSE(r io.Reader, event func(data []byte) bool) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	var data []byte
	for sc.Scan() {
		line := sc.Bytes()
		switch {
		case len(line) == 0:
			if len(data) > 0 {
				if !event(data) {
					return nil
				}
				data = data[:0]
			}
		case bytes.HasPrefix(line, []byte("data:")):
			v := bytes.TrimPrefix(bytes.TrimPrefix(line, []byte("data:")), []byte(" "))
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, v...)
		}
	}
	return sc.Err()
}

// initialize opens a legacy session (pinned to legacyVersion) and sends
// notifications/initialized: two requests.
func (c *mcpClient) initialize(ctx context.Context, token string) (string, error) {
	h, _, err := c.call(ctx, c.headers(caller{token: token}, ""), "initialize", map[string]any{
		"protocolVersion": legacyVersion,
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "loadgen", "version": "1"},
	}, false)
	if err != nil {
		return "", err
	}
	sid := h.Get("Mcp-Session-Id")
	if sid == "" {
		return "", failed("no session", errors.New("initialize answered no Mcp-Session-Id"))
	}
	who := caller{session: sid, token: token}
	if _, _, err := c.call(ctx, c.headers(who, legacyVersion), "notifications/initialized", nil, true); err != nil {
		return sid, err
	}
	return sid, nil
}

// tool calls a tool in a legacy session (who.session set) or sessionless.
func (c *mcpClient) tool(ctx context.Context, who caller, name string, args map[string]any) (toolResult, error) {
	if args == nil {
		args = map[string]any{}
	}
	params := map[string]any{"name": name, "arguments": args}
	var h http.Header
	if who.session != "" {
		h = c.headers(who, legacyVersion)
	} else {
		h = c.headers(who, sessionlessVersion)
		h.Set("Mcp-Method", "tools/call")
		h.Set("Mcp-Name", name)
		params["_meta"] = sessionlessMeta
	}
	_, res, err := c.call(ctx, h, "tools/call", params, false)
	if err != nil {
		return toolResult{}, err
	}
	var out struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		Structured map[string]any `json:"structuredContent"`
		IsError    bool           `json:"isError"`
	}
	if err := json.Unmarshal(res.Result, &out); err != nil {
		return toolResult{}, failed("decode", err)
	}
	var tr toolResult
	if len(out.Content) > 0 {
		tr.text = out.Content[0].Text
	}
	tr.structured = out.Structured
	if out.IsError {
		return tr, failed("tool error", errors.New(tr.text))
	}
	return tr, nil
}

// sessionlessMeta is what every sessionless request carries instead of
// initialize.
var sessionlessMeta = map[string]any{
	"io.modelcontextprotocol/protocolVersion":    sessionlessVersion,
	"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "loadgen", "version": "1"},
	"io.modelcontextprotocol/clientCapabilities": map[string]any{},
}

// listTools asks, sessionless, for the server's tool names.
func (c *mcpClient) listTools(ctx context.Context) (map[string]bool, error) {
	h := c.headers(caller{}, sessionlessVersion)
	h.Set("Mcp-Method", "tools/list")
	_, res, err := c.call(ctx, h, "tools/list", map[string]any{"_meta": sessionlessMeta}, false)
	if err != nil {
		return nil, err
	}
	var out struct {
		Tools []struct {
			Name string `json:"name"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(res.Result, &out); err != nil {
		return nil, failed("decode", err)
	}
	names := map[string]bool{}
	for _, t := range out.Tools {
		names[t.Name] = true
	}
	return names, nil
}

// deleteSession ends a legacy session.
func (c *mcpClient) deleteSession(ctx context.Context, who caller) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.url, nil)
	if err != nil {
		return failed("request", err)
	}
	req.Header = c.headers(who, legacyVersion)
	resp, err := c.hc.Do(req)
	if err != nil {
		return classify(ctx, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return failed("http "+strconv.Itoa(resp.StatusCode), nil)
	}
	return nil
}

// openStream opens the session's GET stream and returns once the server
// accepted it (the operation's latency); the stream is then read in the
// background, each event's data passed to event, until ctx ends or the
// server ends it, when done is closed.
func (c *mcpClient) openStream(ctx context.Context, who caller, event func(data []byte)) (done <-chan struct{}, err error) {
	// The request bound applies until the headers come; the stream then
	// lives as long as ctx.
	sctx, cancel := context.WithCancel(ctx)
	req, err := http.NewRequestWithContext(sctx, http.MethodGet, c.url, nil)
	if err != nil {
		cancel()
		return nil, failed("request", err)
	}
	req.Header = c.headers(who, legacyVersion)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Del("Content-Type")
	timer := time.AfterFunc(c.timeout, cancel)
	resp, err := c.hc.Do(req)
	if !timer.Stop() {
		if err == nil {
			resp.Body.Close()
		}
		cancel()
		return nil, failed("timeout", errors.New("no answer to the GET within the request timeout"))
	}
	if err != nil {
		cancel()
		return nil, classify(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		cancel()
		return nil, failed("http "+strconv.Itoa(resp.StatusCode), nil)
	}
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		defer cancel()
		defer resp.Body.Close()
		_ = readSSE(resp.Body, func(data []byte) bool {
			event(data)
			return true
		})
	}()
	return ch, nil
}
