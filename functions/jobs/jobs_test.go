package jobs_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/functions/jobs"
	"github.com/keygate/keygate/local/eventsink"
	"github.com/keygate/keygate/shared/auditbus"
	"github.com/keygate/keygate/shared/dynamo"
)

// streamEvent is a batch as DynamoDB Streams hands it to Lambda: a final
// record, an intent, a budget update (every metered request) and a TTL
// deletion; only the first is published.
const streamEvent = `{"Records": [
 {"eventID": "1", "eventName": "MODIFY", "dynamodb": {"SequenceNumber": "100", "NewImage": {
   "pk": {"S": "AUDIT#workspace#acme"}, "sk": {"S": "2026-12-05T10:00:00Z#0000000000000000001#7f1c1d2e-1111-4a1a-9a1a-1a1a1a1a1a1a"},
   "state": {"S": "final"}, "action": {"S": "key.leaked"},
   "record": {"S": "{\"id\":\"7f1c1d2e-1111-4a1a-9a1a-1a1a1a1a1a1a\",\"time\":\"2026-12-05T10:00:00Z\",\"action\":\"key.leaked\",\"actor\":{\"type\":\"github\",\"id\":null},\"key\":{\"prefix\":\"csk_live_a1b2c3d4\",\"id\":\"x\",\"name\":\"CI\"},\"sourceIp\":null,\"userAgent\":null,\"changes\":{}}"}}}},
 {"eventID": "2", "eventName": "INSERT", "dynamodb": {"SequenceNumber": "101", "NewImage": {
   "pk": {"S": "AUDIT#workspace#acme"}, "sk": {"S": "x"}, "state": {"S": "pending"}, "record": {"S": "{}"}}}},
 {"eventID": "3", "eventName": "MODIFY", "dynamodb": {"SequenceNumber": "102", "NewImage": {
   "pk": {"S": "BUDGET#b"}, "sk": {"S": "STATE"}, "used": {"N": "7"}}}},
 {"eventID": "4", "eventName": "REMOVE", "dynamodb": {"SequenceNumber": "103", "OldImage": {
   "pk": {"S": "AUDIT#workspace#acme"}, "sk": {"S": "y"}, "state": {"S": "final"}}}}
]}`

func TestPublishHandlerPublishesFinalRecordsOnly(t *testing.T) {
	sink := &eventsink.Sink{}
	srv := httptest.NewServer(sink)
	defer srv.Close()
	client, err := auditbus.NewClient(context.Background(), srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	h := jobs.PublishHandler(&auditbus.Publisher{Client: client, Bus: "keygate-test"}, slog.New(slog.DiscardHandler))
	var ev events.DynamoDBEvent
	if err := json.Unmarshal([]byte(streamEvent), &ev); err != nil {
		t.Fatal(err)
	}
	res, err := h(context.Background(), ev)
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	got := sink.Recent()
	if len(got) != 1 || got[0].DetailType != "key.leaked" || got[0].Source != "keygate" {
		t.Fatalf("%+v", got)
	}
	var d struct {
		Actor struct{ Type string }
		Owner struct{ Type, ID string }
	}
	if err := json.Unmarshal(got[0].Detail, &d); err != nil || d.Actor.Type != "github" || d.Owner.Type != "workspace" || d.Owner.ID != "acme" {
		t.Fatalf("%s %v", got[0].Detail, err)
	}

	// The bus refusing: the record is reported for a retry.
	srv.Close()
	res, err = h(context.Background(), ev)
	if err != nil || len(res.BatchItemFailures) != 1 || res.BatchItemFailures[0].ItemIdentifier != "100" {
		t.Fatalf("%+v %v", res, err)
	}
}

func TestStreamFilterPatternIsJSON(t *testing.T) {
	var v map[string]any
	if err := json.Unmarshal([]byte(dynamo.StreamFilterPattern), &v); err != nil {
		t.Fatal(err)
	}
}
