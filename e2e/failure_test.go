package e2e

import (
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
)

// TestStoreFailureFailsClosed: when DynamoDB fails, a key request is 503
// ServiceUnavailable with the envelope, never a 500 and never let through
// unmetered.
func TestStoreFailureFailsClosed(t *testing.T) {
	probe := &testenv.Probe{}
	s := testenv.Stack(t, testenv.Options{DynamoDBOptions: []func(*dynamodb.Options){probe.Option()}})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "f", Tier: "pro"})
	key, _ := c.CreateKey(tok, map[string]any{"name": "f"})

	t.Run("meter write fails: 503 with rate-limit headers", func(t *testing.T) {
		probe.Fail("UpdateItem", true)
		defer probe.Fail("UpdateItem", false)
		r := c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
		testenv.Must(t, r, 503, "ServiceUnavailable")
		if r.Header.Get("X-RateLimit-Limit") != "250" {
			t.Fatalf("503 to a key lacks rate-limit headers: %v", r.Header)
		}
	})
	t.Run("key read fails: 503 from the gateway", func(t *testing.T) {
		// A key never used yet: no cache in front holds it.
		fresh, _ := c.CreateKey(tok, map[string]any{"name": "fresh"})
		probe.Fail("GetItem", true)
		defer probe.Fail("GetItem", false)
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(fresh), nil), 503, "ServiceUnavailable")
	})
	t.Run("listing fails: 503", func(t *testing.T) {
		probe.Fail("Query", true)
		defer probe.Fail("Query", false)
		testenv.Must(t, c.Do("GET", "/v1/api-keys", testenv.Bearer(tok), nil), 503, "ServiceUnavailable")
	})
	t.Run("recovers when the store is back", func(t *testing.T) {
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
	})
}

// TestDynaliteStoppedMidTest stops the stack's own DynamoDB server: every
// request that needs it is 503, including metered ones.
func TestDynaliteStoppedMidTest(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{OwnStore: true, Log: io.Discard})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "d", Tier: "pro"})
	key, _ := c.CreateKey(tok, map[string]any{"name": "d"})
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")

	s.Dynalite.Stop()
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 503, "ServiceUnavailable")
	testenv.Must(t, c.Do("GET", "/v1/api-keys", testenv.Bearer(tok), nil), 503, "ServiceUnavailable")
	testenv.Must(t, c.Do("POST", "/v1/api-keys", testenv.Bearer(tok), map[string]any{"name": "x"}), 503, "ServiceUnavailable")
}
