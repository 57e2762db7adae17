package main

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
)

// confirmMeta is sessionlessMeta with the elicitation capability the
// confirm tool asks through.
var confirmMeta = func() map[string]any {
	m := maps.Clone(sessionlessMeta)
	m["io.modelcontextprotocol/clientCapabilities"] = map[string]any{"elicitation": map[string]any{"form": map[string]any{}}}
	return m
}()

// confirm is opConfirm: a multi round-trip request of the sessionless
// revision. tools/call confirm returns an InputRequiredResult with a
// sealed requestState; the retry, with the answer yes and that state,
// lands on whichever replica and must answer "confirmed <action>". Two
// requests; the replicas' single-use check writes one row per retry.
func (c *mcpClient) confirm(ctx context.Context, who caller, action string) error {
	h := c.headers(who, sessionlessVersion)
	h.Set("Mcp-Method", "tools/call")
	h.Set("Mcp-Name", "confirm")
	params := map[string]any{"name": "confirm", "arguments": map[string]any{"action": action}, "_meta": confirmMeta}
	_, res, err := c.call(ctx, h, "tools/call", params, false)
	if err != nil {
		return err
	}
	var first struct {
		ResultType   string `json:"resultType"`
		RequestState string `json:"requestState"`
	}
	if err := json.Unmarshal(res.Result, &first); err != nil {
		return failed("decode", err)
	}
	if first.ResultType != "input_required" || first.RequestState == "" {
		return failed("no input required", errors.New("the first call did not ask"))
	}
	params["requestState"] = first.RequestState
	params["inputResponses"] = map[string]any{"confirm": map[string]any{"action": "accept", "content": map[string]any{"answer": "yes"}}}
	if _, res, err = c.call(ctx, h, "tools/call", params, false); err != nil {
		return err
	}
	var out struct {
		Content []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(res.Result, &out); err != nil {
		return failed("decode", err)
	}
	if len(out.Content) == 0 || out.Content[0].Text != "confirmed "+action {
		return failed("not confirmed", errors.New("the retry did not confirm"))
	}
	return nil
}
