package gosdk

import (
	"container/list"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mcpsession/mcpsession"
	"github.com/mcpsession/mcpsession/internal/adapter"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// local is a go-sdk session this replica holds in memory: go-sdk needs one
// to serve a request, and keeps in it what a request may leave running (a
// GET stream, a server-to-client request waiting for its answer, a
// subscription). The store is the truth; a local session is a cache of it,
// made again from the record whenever this replica has none.
//
// The fields after transport are guarded by Sessions.mu.
type local struct {
	id        string
	session   *mcp.ServerSession
	transport *mcp.StreamableServerTransport
	out       *outgoing // its requests on the wire, awaiting their answers

	// level is the log level go-sdk's session has, as far as the adapter
	// knows: the one it was made with or last given.
	level string
	// refs counts the requests (GET streams included) using the session.
	refs int
	// elem is the session's place in Sessions.lru, nil once dropped.
	elem *list.Element
	// gen numbers the idle timer, so that a timer that fired late does not
	// close a session used since.
	gen   int
	timer *time.Timer
}

// connect makes a go-sdk session for id, with state (nil for a session
// that initialize will fill), on a transport of its own. The session's
// context, which go-sdk hands to every handler of the session, carries the
// Sessions, the Core and the session's id for the helpers, and the local
// session.
func (s *Sessions) connect(ctx context.Context, id string, state *mcp.ServerSessionState) (*local, error) {
	l := &local{id: id, transport: &mcp.StreamableServerTransport{SessionID: id}, out: newOutgoing()}
	if state != nil {
		l.level = string(state.LogLevel)
	}
	ctx = adapter.WithSession(context.WithValue(s.versions.withoutVersion(ctx), localKey{}, l), id)
	ss, err := s.server.Connect(ctx, s.transport(l), &mcp.ServerSessionOptions{State: state})
	if err != nil {
		return nil, fmt.Errorf("gosdk: connect a go-sdk session: %w", err)
	}
	l.session = ss
	go s.watch(l)
	return l, nil
}

// watch forgets l once its go-sdk session has ended, whoever ended it:
// go-sdk closes a session itself too, when ServerOptions.KeepAlive pings
// fail (as they do on a replica that holds no GET stream of the session).
// The stored session lives on; the next request makes a new go-sdk session.
func (s *Sessions) watch(l *local) {
	_ = l.session.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locals[l.id] == l {
		s.lru.Remove(l.elem)
		l.elem = nil
		delete(s.locals, l.id)
		if l.timer != nil {
			l.timer.Stop()
			l.timer = nil
		}
	}
}

// acquire returns this replica's go-sdk session for the stored session
// meta, making it from the record if there is none, with a reference the
// caller gives back with release. A session whose log level was changed on
// another replica gets the new level first (see sync).
func (s *Sessions) acquire(ctx context.Context, id string, meta map[string]any) (*local, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, errShutdown
		}
		if l := s.locals[id]; l != nil {
			s.useLocked(l)
			s.mu.Unlock()
			if s.sync(ctx, l, meta) {
				return l, nil
			}
			s.release(l) // dropped: make a new one
			continue
		}
		s.mu.Unlock()

		l, err := s.connect(ctx, id, restore(meta))
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		if s.closed || s.locals[id] != nil {
			// Shut down, or another request made one first: use that.
			s.closeLocked(l)
			s.mu.Unlock()
			continue
		}
		l.refs = 1
		s.insertLocked(l)
		s.mu.Unlock()
		return l, nil
	}
}

// register adds l, made for initialize, with one reference held by the
// initialize request.
func (s *Sessions) register(l *local) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l.refs = 1
	if s.closed {
		s.closeLocked(l)
		return
	}
	s.insertLocked(l)
}

// release gives back a reference. A session no request uses waits for the
// local idle timeout, then closes (one dropped meanwhile is closed already).
func (s *Sessions) release(l *local) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l.refs--
	if l.refs > 0 || l.elem == nil {
		return
	}
	l.gen++
	gen := l.gen
	l.timer = time.AfterFunc(s.localTTL, func() { s.expire(l, gen) })
}

func (s *Sessions) useLocked(l *local) {
	l.refs++
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	l.gen++
	s.lru.MoveToFront(l.elem)
}

// insertLocked adds l and, past the bound, drops the least recently used
// sessions that no request uses.
func (s *Sessions) insertLocked(l *local) {
	s.locals[l.id] = l
	l.elem = s.lru.PushFront(l)
	for e := s.lru.Back(); e != nil && len(s.locals) > s.maxLocal; {
		prev := e.Prev()
		if v := e.Value.(*local); v.refs == 0 {
			s.dropLocked(v)
		}
		e = prev
	}
}

// expire closes l if it is still idle since the timer numbered gen.
func (s *Sessions) expire(l *local, gen int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.gen == gen && l.refs == 0 && l.elem != nil {
		s.dropLocked(l)
	}
}

// drop forgets this replica's go-sdk session of id, if any, and closes it:
// the session has ended (a DELETE, or the store no longer has it).
func (s *Sessions) drop(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.locals[id]; l != nil {
		s.dropLocked(l)
	}
	s.core.Forget(id)
}

// dropLocked removes l and closes it. go-sdk's Close lets the session's
// handlers in flight finish and ends its streams; the store is not touched.
func (s *Sessions) dropLocked(l *local) {
	if l.elem == nil {
		return
	}
	s.lru.Remove(l.elem)
	l.elem = nil
	delete(s.locals, l.id)
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	s.core.Forget(l.id)
	s.closeLocked(l)
}

// closeLocked closes l's go-sdk session in the background: Close waits for
// the session's handlers, which may be slow. Until Shutdown, closes are
// counted for Shutdown to wait on; once it has begun (closed is set, under
// the same lock), no more are counted, so that Shutdown's Wait never meets
// an Add.
func (s *Sessions) closeLocked(l *local) {
	if s.closed {
		go func() { _ = l.session.Close() }()
		return
	}
	s.closing.Go(func() { _ = l.session.Close() })
}

// closeUnlisted closes a go-sdk session that never joined this replica's
// sessions (its initialize failed).
func (s *Sessions) closeUnlisted(l *local) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked(l)
}

// localCount is the number of go-sdk sessions held, for tests.
func (s *Sessions) localCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.locals)
}

// sync brings l's log level in line with the record, and reports whether l
// is still this replica's session of its id. go-sdk has no setter
// for a session's state, so the adapter hands the session the request that
// changed it on the other replica, logging/setLevel, through its transport,
// and keeps its GET stream and whatever else it holds. If that fails, the
// session is dropped, and the next request makes a new one from the record.
func (s *Sessions) sync(ctx context.Context, l *local, meta map[string]any) bool {
	want := storedLevel(meta)
	s.mu.Lock()
	if l.level == want {
		s.mu.Unlock()
		return true
	}
	l.level = want
	s.mu.Unlock()

	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":%q,"method":"logging/setLevel","params":{"level":%q}}`,
		"mcpsession-sync-"+mcpsession.NewID(), want)
	req, err := http.NewRequestWithContext(context.WithoutCancel(ctx), http.MethodPost, "/", strings.NewReader(body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		rec := &syncRecorder{header: make(http.Header)}
		l.transport.ServeHTTP(rec, req)
		if rec.status == http.StatusOK && strings.Contains(rec.body.String(), `"result"`) {
			return true
		}
		err = fmt.Errorf("status %d", rec.status)
	}
	s.logger.LogAttrs(ctx, slog.LevelWarn, "gosdk: handing a log level set on another replica to go-sdk failed; the session is made again",
		slog.String("error", err.Error()))
	s.mu.Lock()
	if s.locals[l.id] == l {
		s.dropLocked(l)
	}
	s.mu.Unlock()
	return false
}

// syncRecorder takes the response to sync's request.
type syncRecorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func (r *syncRecorder) Header() http.Header { return r.header }

func (r *syncRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

func (r *syncRecorder) Write(p []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(p)
}

func (r *syncRecorder) Flush() {}
