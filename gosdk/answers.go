package gosdk

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/mcpsession/mcpsession"
)

// The client's answers to go-sdk's server-to-client requests without
// streams across replicas. go-sdk's session waits for an answer in the
// memory of the replica that asked, and drops one to a request it did not
// send; so an answer POSTed to another replica used to be accepted (202)
// and lost, and the handler waiting for it, and the client's call, waited
// out their contexts. The adapter keeps the ids of the requests each of
// its go-sdk sessions sent (sessionConn, in its outgoing, under go-sdk's
// own ids) until their answers come, and refuses at once an answer that
// no go-sdk session of this replica asked for: go-sdk's client then fails
// the call, and the replica's log says why. An answer to a request
// cancelled here is still accepted and dropped, as go-sdk's handler does.

// errAnswerElsewhere is what the log says of such an answer.
var errAnswerElsewhere = fmt.Errorf("%w: an answer POSTed to a replica that did not ask; give the adapter WithStreams, or route by Mcp-Session-Id", mcpsession.ErrNoStreams)

// answerElsewhere is what the client reads: not the adapter's options.
const answerElsewhere = "Bad Request: no request of the session awaits this answer on this server"

// askedHere reports whether every answer in body (a POST of JSON-RPC
// responses only) answers a request this replica's go-sdk session of
// session sent, and if so forgets them: each is awaited once.
func (s *Sessions) askedHere(session string, body []byte) bool {
	out := s.outgoingOf(session)
	if out == nil {
		return false
	}
	trimmed := bytes.TrimSpace(body)
	raws := []json.RawMessage{trimmed}
	if len(trimmed) > 0 && trimmed[0] == '[' && json.Unmarshal(trimmed, &raws) != nil {
		return false
	}
	ids := make([]int64, 0, len(raws))
	for _, raw := range raws {
		n, ok := numberedAnswer(raw)
		if !ok {
			return false // go-sdk numbers its requests
		}
		ids = append(ids, n)
	}
	return out.takeAll(ids)
}

// refuseAnswer answers 400 to an answer nobody here awaits, and logs why.
func (s *Sessions) refuseAnswer(w http.ResponseWriter, r *http.Request) {
	s.logger.LogAttrs(r.Context(), slog.LevelWarn, "gosdk: an answer to a request this replica did not send was refused",
		slog.String("error", errAnswerElsewhere.Error()))
	http.Error(w, answerElsewhere, http.StatusBadRequest)
}

// asked records go-sdk's request id as sent on the wire, without streams
// across replicas (where the wire id is go-sdk's own): false for an id
// that is not a number, which go-sdk never makes.
func (o *outgoing) asked(id any) bool {
	n, ok := id.(int64)
	if ok {
		o.mu.Lock()
		o.toSDK[n] = numberID(n)
		o.mu.Unlock()
	}
	return ok
}

// takeAll forgets the requests numbered ids if it holds every one, and
// reports whether it did.
func (o *outgoing) takeAll(ids []int64) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, n := range ids {
		if _, ok := o.toSDK[n]; !ok {
			return false
		}
	}
	for _, n := range ids {
		delete(o.toSDK, n)
	}
	return true
}
