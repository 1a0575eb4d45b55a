// Package eventsink is local mode's stand-in for Amazon EventBridge: it
// answers the PutEvents call of the SDK's EventBridge client (the JSON 1.1
// protocol, X-Amz-Target AWSEvents.PutEvents), writes each event as one JSON
// line, and keeps the latest ones for tests and for a person looking at
// GET /_local/events on the local gateway. Nothing is routed anywhere.
package eventsink

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Path is where local mode serves the latest events (GET, no credential).
const Path = "/_local/events"

// keep is how many events the sink remembers.
const keep = 500

// Event is one event as the sink received it.
type Event struct {
	ID         string          `json:"id"`
	Time       time.Time       `json:"time"`
	Bus        string          `json:"eventBusName"`
	Source     string          `json:"source"`
	DetailType string          `json:"detail-type"`
	Detail     json.RawMessage `json:"detail"`
}

// Sink receives events.
type Sink struct {
	// Out gets each event as one JSON line ({"localEvent": {...}}).
	Out io.Writer
	// Now stamps events sent without a time.
	Now func() time.Time

	mu     sync.Mutex
	events []Event
}

// Recent are the events received, oldest first, at most the last 500.
func (s *Sink) Recent() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...)
}

// putEventsRequest is PutEvents' input as the JSON 1.1 protocol writes it.
type putEventsRequest struct {
	Entries []struct {
		Source       string
		DetailType   string
		Detail       string
		EventBusName string
		Time         *float64 // epoch seconds
	}
}

type resultEntry struct {
	EventID      string `json:"EventId,omitempty"`
	ErrorCode    string `json:"ErrorCode,omitempty"`
	ErrorMessage string `json:"ErrorMessage,omitempty"`
}

// ServeHTTP answers PutEvents on any path, and GET Path.
func (s *Sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet && r.URL.Path == Path {
		s.ServeRecent(w, r)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("X-Amz-Target") != "AWSEvents.PutEvents" {
		awsError(w, http.StatusBadRequest, "UnknownOperationException", "the local EventBridge sink only answers PutEvents")
		return
	}
	var in putEventsRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
		awsError(w, http.StatusBadRequest, "SerializationException", err.Error())
		return
	}
	if len(in.Entries) == 0 || len(in.Entries) > 10 {
		awsError(w, http.StatusBadRequest, "ValidationException", fmt.Sprintf("%d entries; PutEvents takes 1 to 10", len(in.Entries)))
		return
	}
	out := struct {
		FailedEntryCount int
		Entries          []resultEntry
	}{}
	for _, e := range in.Entries {
		var detail map[string]any
		switch {
		case e.Source == "" || e.DetailType == "":
			out.FailedEntryCount++
			out.Entries = append(out.Entries, resultEntry{ErrorCode: "InvalidArgument", ErrorMessage: "Source and DetailType are required"})
			continue
		case json.Unmarshal([]byte(e.Detail), &detail) != nil:
			out.FailedEntryCount++
			out.Entries = append(out.Entries, resultEntry{ErrorCode: "MalformedDetail", ErrorMessage: "Detail is not a JSON object"})
			continue
		}
		ev := Event{ID: newID(), Bus: e.EventBusName, Source: e.Source, DetailType: e.DetailType, Detail: json.RawMessage(e.Detail)}
		if ev.Bus == "" {
			ev.Bus = "default"
		}
		if e.Time != nil {
			ev.Time = time.Unix(0, int64(*e.Time*1e9)).UTC().Truncate(time.Millisecond)
		} else if s.Now != nil {
			ev.Time = s.Now().UTC()
		} else {
			ev.Time = time.Now().UTC()
		}
		s.add(ev)
		out.Entries = append(out.Entries, resultEntry{EventID: ev.ID})
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(out)
}

func (s *Sink) add(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	if len(s.events) > keep {
		s.events = append([]Event(nil), s.events[len(s.events)-keep:]...)
	}
	if s.Out != nil {
		b, _ := json.Marshal(map[string]Event{"localEvent": ev})
		_, _ = s.Out.Write(append(b, '\n'))
	}
}

// ServeRecent answers GET Path: {"events": [...]} newest first;
// ?detail-type= keeps one action.
func (s *Sink) ServeRecent(w http.ResponseWriter, r *http.Request) {
	all := s.Recent()
	want := r.URL.Query().Get("detail-type")
	out := make([]Event, 0, len(all))
	for i := len(all) - 1; i >= 0; i-- {
		if want == "" || strings.EqualFold(all[i].DetailType, want) {
			out = append(out, all[i])
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"events": out})
}

func awsError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": code, "message": msg})
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
