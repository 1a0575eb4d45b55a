package e2e

import (
	"context"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/eventbridge"

	"github.com/keygate/keygate/functions/jobs"
	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/devstack"
	"github.com/keygate/keygate/local/gateway"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/auditbus"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/dynamo"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

// intent writes an audit intent as the key service does before a change,
// and never commits it: the request "died".
func intent(t *testing.T, s *devstack.Stack, e audit.Event) {
	t.Helper()
	ctx := audit.WithActor(context.Background(), audit.User("alice"))
	ctx = audit.WithSource(ctx, audit.Source{IP: netip.MustParseAddr("203.0.113.9"), UserAgent: "curl/8.5.0"})
	if _, err := s.App.Audit.Begin(ctx, e); err != nil {
		t.Fatal(err)
	}
}

// unrecorded is the stack's key service without its audit log: a change made
// with it is one whose request died before recording it.
func unrecorded(t *testing.T, s *devstack.Stack) *keys.Service {
	t.Helper()
	svc := *s.App.Keys
	svc.Audit = nil
	return &svc
}

// userOf is a signed-in user's principal.
func userOf(s *devstack.Stack, sub string) principal.Principal {
	return principal.Principal{Sub: sub, Tier: principal.Pro, Method: principal.ViaJWT}
}

func actionsOf(r testenv.Response) []string {
	var out []string
	for _, e := range r.Data()["events"].([]any) {
		out = append(out, e.(map[string]any)["action"].(string))
	}
	return out
}

func keyRef(c *testenv.Client, tok, prefix string) *audit.KeyRef {
	for _, k := range c.Do("GET", "/v1/api-keys", testenv.Bearer(tok), nil).Data()["keys"].([]any) {
		k := k.(map[string]any)
		if k["prefix"] == prefix {
			return &audit.KeyRef{Prefix: prefix, ID: k["id"].(string), Name: k["name"].(string)}
		}
	}
	return nil
}

// TestAuditIntentsOfDeadRequestsSettledByTheReader: the intents of two
// requests that died (one after its change, one before) are settled by the
// next GET /v1/audit-log once no request can still be running.
func TestAuditIntentsOfDeadRequestsSettledByTheReader(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{})
	c := testenv.NewClient(t, s)
	alice := testenv.Token(t, s, devissuer.Token{Sub: "alice", Tier: "pro"})
	_, prefix := c.CreateKey(alice, map[string]any{"name": "CI Pipeline"})
	ref := keyRef(c, alice, prefix)
	owner := keys.User("alice").Audit()
	intent(t, s, audit.Event{Action: audit.KeyRevoked, Owner: owner, Key: ref, Reason: "owner",
		Changes: audit.Changes{audit.FieldStatus: {From: "active", To: "revoked"}}})
	unrecorded(t, s).Revoke(context.Background(), userOf(s, "alice"), keys.User("alice"), keys.Ref{Prefix: prefix})
	intent(t, s, audit.Event{Action: audit.KeyUpdated, Owner: owner, Key: ref,
		Changes: audit.Changes{audit.FieldName: {From: "CI Pipeline", To: "never made"}}})

	r := c.Do("GET", "/v1/audit-log", testenv.Bearer(alice), nil)
	testenv.Must(t, r, 200, "")
	if got := actionsOf(r); len(got) != 1 || got[0] != "key.created" {
		t.Fatalf("intents of requests that may still be running are shown: %v", got)
	}
	s.App.Clock.(*clock.Fixed).Advance(audit.DefaultSettle + time.Second)
	r = c.Do("GET", "/v1/audit-log", testenv.Bearer(alice), nil)
	testenv.Must(t, r, 200, "")
	if got := actionsOf(r); len(got) != 2 || got[0] != "key.revoked" {
		t.Fatalf("after settling: %v, want the revocation and the creation: %s", got, r.Body)
	}
	if ev := r.Data()["events"].([]any)[0].(map[string]any); ev["reason"] != "owner" || ev["sourceIp"] != "203.0.113.9" {
		t.Fatalf("%v", ev)
	}
}

// TestAuditJobs runs the scheduled Lambdas' handlers as their schedules
// would (the sweep, the daily key.expiring) and the stream publisher on the
// table's real audit items, each in its function's invocation context, so
// the e2e recording holds their AWS calls.
func TestAuditJobs(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{})
	c := testenv.NewClient(t, s)
	clk := s.App.Clock.(*clock.Fixed)
	alice := testenv.Token(t, s, devissuer.Token{Sub: "alice", Tier: "pro"})
	_, prefix := c.CreateKey(alice, map[string]any{"name": "deploy", "expiresAt": clk.Now().Add(72 * time.Hour).Format(time.RFC3339)})
	ref := keyRef(c, alice, prefix)
	owner := keys.User("alice").Audit()
	intent(t, s, audit.Event{Action: audit.KeyUpdated, Owner: owner, Key: ref,
		Changes: audit.Changes{audit.FieldName: {From: "deploy", To: "deploy 2"}}})
	name := "deploy 2"
	if _, err := unrecorded(t, s).Update(context.Background(), userOf(s, "alice"), keys.User("alice"), keys.Ref{Prefix: prefix},
		keys.UpdateInput{Name: &name}); err != nil {
		t.Fatal(err)
	}
	intent(t, s, audit.Event{Action: audit.KeyUpdated, Owner: owner, Key: ref,
		Changes: audit.Changes{audit.FieldName: {From: "deploy 2", To: "never made"}}})
	clk.Advance(audit.DefaultSettle + time.Second)

	ctx := context.Background()
	for _, job := range []string{jobs.Sweep, jobs.Expiring} {
		if err := s.RunJob(ctx, job); err != nil {
			t.Fatalf("%s: %v", job, err)
		}
	}
	r := c.Do("GET", "/v1/audit-log", testenv.Bearer(alice), nil)
	testenv.Must(t, r, 200, "")
	if got := actionsOf(r); len(got) != 3 || got[0] != "key.expiring" || got[1] != "key.updated" || got[2] != "key.created" {
		t.Fatalf("after the jobs: %v: %s", got, r.Body)
	}

	// The publisher Lambda on the table's final audit items, as the stream
	// hands them over.
	out, err := s.App.Store.DB.Query(ctx, &dynamodb.QueryInput{
		TableName:                 aws.String(s.App.Store.Table),
		KeyConditionExpression:    aws.String("pk = :pk"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": &types.AttributeValueMemberS{Value: dynamo.AuditPK(owner)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	var batch events.DynamoDBEvent
	for i, item := range out.Items {
		batch.Records = append(batch.Records, events.DynamoDBEventRecord{EventName: "MODIFY",
			Change: events.DynamoDBStreamRecord{SequenceNumber: strconv.Itoa(100 + i), NewImage: streamImage(item)}})
	}
	client, err := auditbus.NewClient(ctx, s.App.Config.EventBridgeEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	recorded := eventbridge.New(client.Options(), func(o *eventbridge.Options) {
		o.APIOptions = append(o.APIOptions, testenv.Operations.APIOption)
	})
	before := len(s.Events.Recent())
	pub := jobs.PublishHandler(&auditbus.Publisher{Client: recorded, Bus: s.App.Config.EventBus}, s.App.Log)
	res, err := pub(lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{InvokedFunctionArn: gateway.FunctionArn(jobs.Publish)}), batch)
	if err != nil || len(res.BatchItemFailures) != 0 {
		t.Fatalf("%+v %v", res, err)
	}
	if got := len(s.Events.Recent()) - before; got != 3 {
		t.Fatalf("published %d events, want the 3 final records (created, updated, expiring)", got)
	}
}

// streamImage is a DynamoDB item as a stream record's image.
func streamImage(item map[string]types.AttributeValue) map[string]events.DynamoDBAttributeValue {
	out := map[string]events.DynamoDBAttributeValue{}
	for k, v := range item {
		switch v := v.(type) {
		case *types.AttributeValueMemberS:
			out[k] = events.NewStringAttribute(v.Value)
		case *types.AttributeValueMemberN:
			out[k] = events.NewNumberAttribute(v.Value)
		case *types.AttributeValueMemberBOOL:
			out[k] = events.NewBooleanAttribute(v.Value)
		}
	}
	return out
}
