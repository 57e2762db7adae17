package adaptertest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Event is one SSE event a client read.
type Event struct {
	Name, ID, Data string
}

// Message is the JSON-RPC message an event carries, as far as the tests
// read it.
type Message struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params json.RawMessage `json:"params"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

// Message decodes the event's data.
func (e Event) Message(t testing.TB) Message {
	t.Helper()
	var m Message
	if err := json.Unmarshal([]byte(e.Data), &m); err != nil {
		t.Fatalf("event data %q: %v", e.Data, err)
	}
	return m
}

// SSE is a client's open event stream, read as it comes.
type SSE struct {
	status  int
	header  http.Header
	headers chan struct{} // closed once status and header are set
	cancel  context.CancelFunc
	events  chan Event
	closed  chan struct{}
}

// OpenSSE sends req and, if the answer is 200 text/event-stream, reads its
// events until it ends or the test does (a 200 JSON answer is one event). It returns at once: a server may
// hold the answer's headers back until it has something to say.
func OpenSSE(t testing.TB, req *http.Request) *SSE {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &SSE{headers: make(chan struct{}), cancel: cancel, events: make(chan Event, 256), closed: make(chan struct{})}
	go func() {
		defer close(s.closed)
		resp, err := http.DefaultClient.Do(req.WithContext(ctx))
		if err != nil {
			close(s.headers)
			return
		}
		defer resp.Body.Close()
		s.status, s.header = resp.StatusCode, resp.Header
		close(s.headers)
		if resp.StatusCode != http.StatusOK {
			return
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			// A JSON answer: one message, as an event without an id.
			if body, err := io.ReadAll(resp.Body); err == nil && len(bytes.TrimSpace(body)) > 0 {
				s.events <- Event{Name: "message", Data: string(bytes.TrimSpace(body))}
			}
			return
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		var ev Event
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			switch {
			case line == "":
				if ev != (Event{}) {
					s.events <- ev
				}
				ev = Event{}
			case strings.HasPrefix(line, ":"):
			case strings.HasPrefix(line, "event:"):
				ev.Name = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "id:"):
				ev.ID = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
			case strings.HasPrefix(line, "data:"):
				ev.Data += strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " ")
			}
		}
	}()
	return s
}

// Status waits for the answer's headers and returns its status (0 if the
// request failed).
func (s *SSE) Status(t testing.TB) int {
	t.Helper()
	select {
	case <-s.headers:
		return s.status
	case <-time.After(Timeout):
		t.Fatalf("no answer within %v", Timeout)
	}
	return 0
}

// GetSSE opens a GET stream of session sid on url, resuming after
// lastEventID when it is not "".
func GetSSE(t testing.TB, url, sid, lastEventID string) *SSE {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/event-stream")
	if sid != "" {
		req.Header.Set(HeaderSessionID, sid)
		req.Header.Set(HeaderProtocolVersion, LegacyVersion)
	}
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	return OpenSSE(t, req)
}

// PostSSE sends one JSON-RPC message as PostWith does, and reads the
// answer as a stream.
func PostSSE(t testing.TB, url, sid string, header http.Header, msg any) *SSE {
	t.Helper()
	return OpenSSE(t, PostRequest(t, url, sid, header, msg))
}

// Events is the channel of the stream's events, for tests that read two
// streams at once; it is not closed when the stream ends (see Ended).
func (s *SSE) Events() <-chan Event { return s.events }

// Ended is closed once the stream has ended and its events are all in
// Events.
func (s *SSE) Ended() <-chan struct{} { return s.closed }

// Next returns the next event, failing t if the stream ends first or none
// comes within Timeout.
func (s *SSE) Next(t testing.TB) Event {
	t.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-s.closed:
		select {
		case ev := <-s.events:
			return ev
		default:
		}
		t.Fatalf("the stream (status %d) ended", s.status)
	case <-time.After(Timeout):
		t.Fatalf("no event within %v", Timeout)
	}
	return Event{}
}

// NextMessage returns the next event that carries data.
func (s *SSE) NextMessage(t testing.TB) Event {
	t.Helper()
	for {
		if ev := s.Next(t); ev.Data != "" {
			return ev
		}
	}
}

// AwaitEnd waits until the stream ends, failing t after within, and
// returns how long it took.
func (s *SSE) AwaitEnd(t testing.TB, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	select {
	case <-s.closed:
	case <-time.After(within):
		t.Fatalf("the stream did not end within %v", within)
	}
	return time.Since(start)
}

// Close drops the connection, as a client whose network failed.
func (s *SSE) Close() {
	s.cancel()
	<-s.closed
}

// Pending reports the events already read and not taken.
func (s *SSE) Pending() []Event {
	var out []Event
	for {
		select {
		case ev := <-s.events:
			out = append(out, ev)
		default:
			return out
		}
	}
}
