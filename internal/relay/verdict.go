package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// A Verdict is what an SDK answered a client's POST of an answer to one
// of its requests: 202 when a handler was waiting for it, otherwise the
// SDK's refusal (mcp-go's 400 "No pending sampling request ...").
type Verdict struct {
	Status      int    `json:"status"`
	ContentType string `json:"contentType,omitempty"`
	Body        string `json:"body,omitempty"`
}

// Write writes the verdict as the answer to the client's POST.
func (v Verdict) Write(w http.ResponseWriter) {
	if v.ContentType != "" {
		w.Header().Set("Content-Type", v.ContentType)
	}
	w.WriteHeader(v.Status)
	_, _ = w.Write([]byte(v.Body))
}

// The verdicts of answers that reach no SDK: a Call waiting (or not), and
// an answer that is none.
var (
	accepted = Verdict{Status: http.StatusAccepted}
	refused  = Verdict{Status: http.StatusBadRequest, ContentType: "text/plain; charset=utf-8", Body: "No pending request found for the given request ID\n"}
)

// verdictTimeout bounds how long Forward waits: two bus deliveries, a
// handful of milliseconds on Postgres, two polls on SQLite.
const verdictTimeout = 10 * time.Second

// ErrNoVerdict means the replica an answer was forwarded to said nothing
// in time: it may be gone, and the handler waiting with it.
var ErrNoVerdict = errors.New("relay: no verdict from the replica that asked")

// Forward hands msg, a client's answer to one of another replica's
// requests (ForeignID), to that replica and waits for what its SDK
// answered (Config.Deliver there), so that the client gets the answer of
// the replica that asked, not a 202 for an answer nobody waits for. A
// replica that does not deliver with Config.Deliver answers 202. A publish
// that fails is an error: nothing was forwarded.
func (r *Relay) Forward(ctx context.Context, session string, msg json.RawMessage) (Verdict, error) {
	var a answer
	if err := json.Unmarshal(msg, &a); err != nil || !a.isResponse() {
		return Verdict{}, fmt.Errorf("relay: not an answer")
	}
	id, ours := parseID(a.ID)
	if !ours || id.replica == r.replica {
		return Verdict{}, fmt.Errorf("relay: not another replica's request")
	}
	token := r.replica + "/" + strconv.FormatInt(r.calls.Add(1), 10)
	ch := make(chan Verdict, 1)
	r.mu.Lock()
	r.verdicts[token] = ch
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.verdicts, token)
		r.mu.Unlock()
	}()
	payload, err := json.Marshal(forwarded{Session: session, Message: msg, Reply: token})
	if err != nil {
		return Verdict{}, err
	}
	if err := r.publish(ctx, topicReplica+id.replica, payload); err != nil {
		return Verdict{}, err
	}
	t := time.NewTimer(verdictTimeout)
	defer t.Stop()
	select {
	case v := <-ch:
		return v, nil
	case <-t.C:
		return Verdict{}, ErrNoVerdict
	case <-ctx.Done():
		return Verdict{}, ctx.Err()
	case <-r.down.Done():
		return Verdict{}, ErrNoVerdict
	}
}

// sendVerdict sends v to the replica that asked with reply ("" asks
// nothing); one that cannot be sent is logged, and the asker times out.
func (r *Relay) sendVerdict(reply, session string, v Verdict) {
	asker, _, ok := strings.Cut(reply, "/")
	if !ok || asker == "" {
		return
	}
	if asker == r.replica {
		r.verdictCame(reply, v)
		return
	}
	payload, err := json.Marshal(forwarded{Session: session, Reply: reply, Verdict: &v})
	if err == nil {
		err = r.publish(context.Background(), topicReplica+asker, payload)
	}
	if err != nil {
		r.warn(context.Background(), "sending the verdict on a forwarded answer failed", err)
	}
}

// verdictCame hands a Forward its verdict, if it still waits.
func (r *Relay) verdictCame(reply string, v Verdict) {
	r.mu.Lock()
	ch := r.verdicts[reply]
	r.mu.Unlock()
	if ch != nil {
		select {
		case ch <- v:
		default:
		}
	}
}
