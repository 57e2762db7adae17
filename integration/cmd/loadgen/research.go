package main

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// researchPoll is how often the research operation polls tasks/get after
// its first, sent at once: the task works 0 seconds, so its end comes
// within a few database round trips, much sooner than the pollInterval a
// server suggests.
const researchPoll = 20 * time.Millisecond

// research runs one task.research: a sessionless, task-augmented
// tools/call of research with seconds 0, then tasks/get until the task is
// terminal, each request on whichever replica the fleet's proxy picks. It
// returns the requests it made. A server whose research is no task (the
// example with -sdk go-sdk, which has none) answers the call itself: one
// request.
func (d *driver) research(ctx context.Context) (int, error) {
	who := caller{token: d.token()}
	h := d.client.headers(who, sessionlessVersion)
	h.Set("Mcp-Method", "tools/call")
	h.Set("Mcp-Name", "research")
	_, res, err := d.client.call(ctx, h, "tools/call", map[string]any{
		"name": "research", "arguments": map[string]any{"seconds": 0}, "task": map[string]any{}, "_meta": sessionlessMeta,
	}, false)
	if err != nil {
		return 1, err
	}
	var created struct {
		Task *struct {
			TaskID string `json:"taskId"`
			Status string `json:"status"`
		} `json:"task"`
		IsError bool `json:"isError"`
	}
	if err := json.Unmarshal(res.Result, &created); err != nil {
		return 1, failed("decode", err)
	}
	switch {
	case created.Task == nil && created.IsError:
		return 1, failed("tool error", nil)
	case created.Task == nil:
		return 1, nil // answered at once: not a task on this server
	case created.Task.TaskID == "":
		return 1, failed("decode", errors.New("CreateTaskResult without a task id"))
	}
	id := created.Task.TaskID
	status := created.Task.Status
	requests := 1
	tick := time.NewTicker(researchPoll)
	defer tick.Stop()
	for first := true; !terminalTask(status); first = false {
		if !first { // the first tasks/get goes at once
			select {
			case <-tick.C:
			case <-ctx.Done():
				return requests, failed("timeout", ctx.Err())
			}
		}
		h := d.client.headers(who, sessionlessVersion)
		h.Set("Mcp-Method", "tasks/get")
		_, res, err := d.client.call(ctx, h, "tasks/get", map[string]any{"taskId": id, "_meta": sessionlessMeta}, false)
		requests++
		if err != nil {
			return requests, err
		}
		var got struct {
			Status string `json:"status"`
		}
		if err := json.Unmarshal(res.Result, &got); err != nil {
			return requests, failed("decode", err)
		}
		status = got.Status
	}
	if status != "completed" {
		return requests, failed("task "+status, nil)
	}
	return requests, nil
}

// terminalTask reports whether a task's status is final.
func terminalTask(status string) bool {
	return status == "completed" || status == "failed" || status == "cancelled"
}
