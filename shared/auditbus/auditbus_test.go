package auditbus_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/keygate/keygate/local/eventsink"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/auditbus"
)

// TestPublishThroughTheSDK puts records through the SDK's EventBridge client
// on the local sink, which reads the wire format the SDK writes.
func TestPublishThroughTheSDK(t *testing.T) {
	var lines bytes.Buffer
	sink := &eventsink.Sink{Out: &lines}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	client, err := auditbus.NewClient(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	p := &auditbus.Publisher{Client: client, Bus: "keygate-test"}
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	sub, ip := "alice", "203.0.113.9"
	var recs []audit.Record
	for i := range 12 {
		recs = append(recs, audit.Record{ID: strings.Repeat("a", 8) + string(rune('a'+i)), Time: at, Action: audit.KeyUpdated,
			Actor: audit.Actor{Type: audit.ByUser, ID: &sub}, SourceIP: &ip,
			Key:     &audit.KeyRef{Prefix: "csk_live_a1b2c3d4", ID: "id", Name: "CI Pipeline"},
			Changes: audit.Changes{"dailyLimit": {From: 250, To: i}}, Owner: audit.Owner{Kind: "workspace", ID: "acme"}})
	}
	failed, err := p.Publish(context.Background(), recs)
	if err != nil || len(failed) != 0 {
		t.Fatalf("failed %v: %v", failed, err)
	}
	got := sink.Recent()
	if len(got) != 12 {
		t.Fatalf("%d events", len(got))
	}
	e := got[11]
	var d map[string]any
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		t.Fatal(err)
	}
	owner, _ := d["owner"].(map[string]any)
	if e.Source != "keygate" || e.DetailType != "key.updated" || e.Bus != "keygate-test" || !e.Time.Equal(at) ||
		d["action"] != "key.updated" || owner["type"] != "workspace" || owner["id"] != "acme" || d["sourceIp"] != ip ||
		d["changes"].(map[string]any)["dailyLimit"].(map[string]any)["to"] != float64(11) {
		t.Fatalf("event %+v detail %v", e, d)
	}
	if n := strings.Count(lines.String(), "\n"); n != 12 || !strings.Contains(lines.String(), `"detail-type":"key.updated"`) {
		t.Fatalf("the sink's log: %d lines\n%s", n, lines.String())
	}
	for _, l := range strings.Split(strings.TrimSpace(lines.String()), "\n") {
		if !json.Valid([]byte(l)) {
			t.Fatalf("not one JSON line: %s", l)
		}
	}

	rec := httptest.NewRecorder()
	sink.ServeHTTP(rec, httptest.NewRequest("GET", eventsink.Path+"?detail-type=key.updated", nil))
	var listed struct{ Events []eventsink.Event }
	if err := json.Unmarshal(rec.Body.Bytes(), &listed); err != nil || len(listed.Events) != 12 || listed.Events[0].ID != got[11].ID {
		t.Fatalf("GET %s: %v %s", eventsink.Path, err, rec.Body)
	}
}
