package e2e

import (
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/config"
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

// TestStoreStallMidRequestAnswersWithinOneDeadline stops the stack's own
// dynalite (SIGSTOP: connections accepted, never answered) at chosen points
// inside a create, with the default 2 s store deadline. The store calls of
// one request share one budget, so the 503 comes within one deadline and the
// half-second margin (the clean-up after the stalled write included), where
// each call once waited its own 2 s: 4 s for a create stalled at its budget
// write (that write's timeout, then giving back the key slot).
func TestStoreStallMidRequestAnswersWithinOneDeadline(t *testing.T) {
	probe := &testenv.Probe{}
	s := testenv.Stack(t, testenv.Options{OwnStore: true, Log: io.Discard,
		DynamoDBOptions: []func(*dynamodb.Options){probe.Option()},
		Env:             map[string]string{config.EnvStoreTimeout: "2000"}})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "stall", Tier: "pro"})
	c.CreateKey(tok, map[string]any{"name": "before"})

	for _, tc := range []struct {
		name string
		op   string
		nth  int
	}{
		{"create stalled at its budget write", "PutItem", 1},
		{"create stalled at its key write", "PutItem", 3},
	} {
		t.Run(tc.name+" is 503 within 2.5 s", func(t *testing.T) {
			paused := false
			probe.Before(tc.op, tc.nth, func() {
				if err := s.Dynalite.Pause(); err != nil {
					t.Error(err)
				}
				paused = true
			})
			defer func() {
				if err := s.Dynalite.Resume(); err != nil {
					t.Error(err)
				}
			}()
			start := time.Now()
			r := c.Do("POST", "/v1/api-keys", testenv.Bearer(tok), map[string]any{"name": "stalled"})
			took := time.Since(start)
			if !paused {
				t.Fatalf("the store was never paused (%d %s)", r.Status, r.Body)
			}
			testenv.Must(t, r, 503, "ServiceUnavailable")
			t.Logf("503 after %v", took.Round(time.Millisecond))
			// One 2 s deadline, the 0.5 s margin, and a little for two
			// shared cores.
			if took > 2800*time.Millisecond {
				t.Fatalf("503 after %v; the request's store calls share one 2 s deadline and a 0.5 s margin", took)
			}
		})
	}
	t.Run("the store answers again after the stalls", func(t *testing.T) {
		c.CreateKey(tok, map[string]any{"name": "after"})
	})
}

// TestLocalInvocationsStopAtTheirLambdaDeadline: with a store deadline longer
// than the authorizer's 5 s Lambda timeout (the test harness's own 10 s), a
// stalled key read ends with the authorizer's Lambda deadline, less the
// half-second kept for answering, as it does deployed: 503 within 5 s. The
// local gateway once gave functions no deadline, so the read waited its 10 s.
func TestLocalInvocationsStopAtTheirLambdaDeadline(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{OwnStore: true, Log: io.Discard})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "lambda-deadline", Tier: "pro"})
	cold, _ := c.CreateKey(tok, map[string]any{"name": "never used"})
	if err := s.Dynalite.Pause(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Dynalite.Resume(); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	r := c.Do("GET", "/v1/usage", testenv.Bearer(cold), nil)
	took := time.Since(start)
	testenv.Must(t, r, 503, "ServiceUnavailable")
	t.Logf("503 after %v", took.Round(time.Millisecond))
	if took < 4*time.Second || took > 5*time.Second {
		t.Fatalf("503 after %v; want the authorizer's 5 s Lambda deadline less 0.5 s", took)
	}
}
