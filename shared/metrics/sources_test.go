package metrics_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keygate/keygate/functions/handlers"
	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/shared/metrics"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func capture(t *testing.T) *testenv.Buffer {
	t.Helper()
	var buf testenv.Buffer
	t.Cleanup(metrics.SetOutput(&buf))
	return &buf
}

func parse(t *testing.T, out string) []metrics.Datum {
	t.Helper()
	var all []metrics.Datum
	for l := range strings.Lines(out) {
		d, err := metrics.ParseLine([]byte(l))
		if err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		all = append(all, d...)
	}
	return all
}

// TestStoreLatencyOfEveryCall runs each operation of the fixed set against
// dynalite through a client with the option: each is timed under its name,
// a failed call too, and operations outside the set are not recorded.
func TestStoreLatencyOfEveryCall(t *testing.T) {
	buf := capture(t)
	store := testenv.Store(t, metrics.DynamoDBOption()) // CreateTable: not recorded
	db, table := store.DB, aws.String(store.Table)
	key := map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "P"}, "sk": &types.AttributeValueMemberS{Value: "S"}}

	ctx, rec := metrics.Start(context.Background())
	calls := []func() error{
		func() error {
			_, err := db.PutItem(ctx, &dynamodb.PutItemInput{TableName: table, Item: key})
			return err
		},
		func() error {
			_, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: table, Key: key})
			return err
		},
		func() error {
			_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: table, Key: key,
				UpdateExpression: aws.String("ADD n :one"), ExpressionAttributeValues: map[string]types.AttributeValue{":one": &types.AttributeValueMemberN{Value: "1"}}})
			return err
		},
		func() error {
			_, err := db.Query(ctx, &dynamodb.QueryInput{TableName: table, KeyConditionExpression: aws.String("pk = :p"),
				ExpressionAttributeValues: map[string]types.AttributeValue{":p": &types.AttributeValueMemberS{Value: "P"}}})
			return err
		},
		func() error {
			_, err := db.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{*table: {Keys: []map[string]types.AttributeValue{key}}}})
			return err
		},
	}
	for i, call := range calls {
		if err := call(); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if _, err := db.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("no-such-table"), Key: key}); err == nil {
		t.Fatal("GetItem on a missing table succeeded")
	}
	if _, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: table}); err != nil {
		t.Fatal(err)
	}
	rec.Flush()

	got := map[string]int{}
	for _, d := range parse(t, buf.String()) {
		if d.Name != "StoreLatency" || d.Unit != "Milliseconds" {
			t.Fatalf("unexpected metric %+v", d)
		}
		for _, v := range d.Values {
			if v <= 0 || v > 5000 {
				t.Fatalf("%s latency %v ms is not plausible", d.Dims["Operation"], v)
			}
		}
		got[d.Dims["Operation"]] += len(d.Values)
	}
	want := map[string]int{"PutItem": 1, "GetItem": 2, "UpdateItem": 1, "Query": 1, "BatchGetItem": 1}
	for op, n := range want {
		if got[op] != n {
			t.Errorf("%s: %d values, want %d (all: %v)", op, got[op], n, got)
		}
	}
	if len(got) != len(want) {
		t.Errorf("recorded operations %v, want exactly %v", got, want)
	}
}

func TestRouteTableCoversEveryRoute(t *testing.T) {
	for _, rt := range handlers.Routes {
		if r := metrics.RouteOf(rt.Method, rt.Path); r == metrics.RouteOther || r.String() != rt.Method+" "+rt.Path {
			t.Errorf("route %s %s is missing from the metrics route table", rt.Method, rt.Path)
		}
	}
}
