package main

import (
	"context"
	"fmt"
	"math"
	"time"

	gomcp "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/mcpsession/mcpsession/mcpgo"
	"github.com/mcpsession/mcpsession/sqlstore"
	"github.com/mcpsession/mcpsession/tasks"
)

// research is the task tool: it works for its seconds, sending progress,
// then returns a text containing "done". With -sdk mcp-go it runs as an
// MCP task (AddTaskTool) kept in the database by package tasks, so that
// any replica answers tasks/get, tasks/list, tasks/result and tasks/cancel
// for it. go-sdk v1.8 has no tasks: with -sdk go-sdk it is an ordinary,
// synchronous tool.
const (
	researchTool        = "research"
	researchDescription = "Works for the given number of seconds, sending progress, then returns a text containing \"done\". " +
		"With -sdk mcp-go it is a task (call it with params.task; poll, list, await or cancel it on any replica); " +
		"with -sdk go-sdk, which has no tasks, an ordinary synchronous call."
	// researchMaxSeconds bounds a call's work.
	researchMaxSeconds = 3600
)

// researchArgs are research's arguments.
type researchArgs struct {
	Seconds float64 `json:"seconds" jsonschema:"how many seconds to work, 0 to 3600"`
}

// researchWork works for seconds, calling progress once a second, until
// done or ctx ends.
func researchWork(ctx context.Context, seconds float64, progress func(done, total float64)) (string, error) {
	if math.IsNaN(seconds) || seconds < 0 || seconds > researchMaxSeconds {
		return "", fmt.Errorf("%w: seconds must be between 0 and %d", errArguments, researchMaxSeconds)
	}
	total := time.Duration(seconds * float64(time.Second))
	deadline := time.NewTimer(total)
	defer deadline.Stop()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	start := time.Now()
	for {
		select {
		case <-deadline.C:
			progress(seconds, seconds)
			return fmt.Sprintf("research done after %g seconds", seconds), nil
		case <-tick.C:
			progress(time.Since(start).Seconds(), seconds)
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// mcpgoTaskOptions are what research needs of package mcpgo and of
// mcp-go's server with a task store.
func mcpgoTaskOptions(ts *tasks.Store) ([]mcpgo.Option, []server.ServerOption) {
	if ts == nil {
		return nil, nil
	}
	return []mcpgo.Option{mcpgo.WithTasks(ts)}, []server.ServerOption{server.WithTaskCapabilities(true, true, true)}
}

// addMCPGoResearch registers research with mcp-go as a task tool.
func addMCPGoResearch(s *server.MCPServer) {
	s.AddTaskTool(mcp.NewTool(researchTool,
		mcp.WithDescription(researchDescription),
		mcp.WithNumber("seconds", mcp.Required(), mcp.Description("how many seconds to work, 0 to 3600")),
		mcp.WithTaskSupport(mcp.TaskSupportRequired)),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CreateTaskResult, error) {
			var args researchArgs
			if err := req.BindArguments(&args); err != nil {
				return nil, fmt.Errorf("%w: %v", errArguments, err)
			}
			var token mcp.ProgressToken
			if req.Params.Meta != nil {
				token = req.Params.Meta.ProgressToken
			}
			text, err := researchWork(ctx, args.Seconds, func(done, total float64) {
				if token == nil {
					return
				}
				_ = s.SendNotificationToClient(ctx, "notifications/progress",
					map[string]any{"progressToken": token, "progress": done, "total": total})
			})
			if err != nil {
				return nil, err
			}
			return &mcp.CreateTaskResult{Content: []mcp.Content{mcp.NewTextContent(text)}}, nil
		})
}

// addGoSDKResearch registers research with go-sdk, synchronous.
func addGoSDKResearch(s *gomcp.Server) {
	gomcp.AddTool(s, &gomcp.Tool{Name: researchTool, Description: researchDescription},
		func(ctx context.Context, req *gomcp.CallToolRequest, args researchArgs) (*gomcp.CallToolResult, any, error) {
			token := req.Params.GetProgressToken()
			text, err := researchWork(ctx, args.Seconds, func(done, total float64) {
				if token == nil {
					return
				}
				_ = req.Session.NotifyProgress(ctx, &gomcp.ProgressNotificationParams{ProgressToken: token, Progress: done, Total: total})
			})
			if err != nil {
				return &gomcp.CallToolResult{IsError: true, Content: []gomcp.Content{&gomcp.TextContent{Text: err.Error()}}}, nil, nil
			}
			return &gomcp.CallToolResult{Content: []gomcp.Content{&gomcp.TextContent{Text: text}}}, nil, nil
		})
}

// newTaskStore is the replica's task store, over its database and bus.
func newTaskStore(store *sqlstore.Store, cfg replicaConfig) (*tasks.Store, error) {
	opts := []tasks.Option{tasks.WithLogger(cfg.logger)}
	if cfg.taskLease > 0 {
		opts = append(opts, tasks.WithLease(cfg.taskLease))
	}
	ts, err := tasks.New(store, cfg.bus, opts...)
	if err != nil {
		return nil, fmt.Errorf("tasks: %w", err)
	}
	return ts, nil
}
