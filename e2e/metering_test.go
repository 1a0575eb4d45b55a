package e2e

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/dynamo"
)

// hammerInFlight bounds the requests hammer has in flight: far above any
// limit the tests set, so the last units of a budget are always fought over,
// yet a queue dynalite drains within the store's deadline even on two busy
// cores under the race detector (1000 at once queued some writes past their
// 10 s deadline there: 503s that say nothing about the meter).
const hammerInFlight = 128

// hammer sends n GET /v1/usage with cred from n goroutines released at once,
// hammerInFlight at a time, and counts statuses.
func hammer(t *testing.T, c *testenv.Client, cred string, n int) map[int]int {
	t.Helper()
	var (
		mu     sync.Mutex
		counts = map[int]int{}
		errs   testenv.Errs
		wg     sync.WaitGroup
		start  = make(chan struct{})
		slots  = make(chan struct{}, hammerInFlight)
	)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			slots <- struct{}{}
			defer func() { <-slots }()
			r, err := c.Try("GET", "/v1/usage", map[string]string{"Authorization": testenv.Bearer(cred)}, nil)
			if err != nil {
				errs.Add(err)
				return
			}
			mu.Lock()
			counts[r.Status]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	errs.Check(t)
	return counts
}

// storedCount is what the store holds for the key's budget on day: in the
// budget item (today and the day before) or archived.
func storedCount(t *testing.T, st *dynamo.Store, prefix, day string) int {
	t.Helper()
	ctx := context.Background()
	r, err := st.GetKey(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.GetBudgets(ctx, []string{r.Budget})
	if err != nil {
		t.Fatal(err)
	}
	if n := b[r.Budget].UsedOn(day); n > 0 {
		return n
	}
	h, err := st.History(ctx, r.Budget, day, day)
	if err != nil {
		t.Fatal(err)
	}
	return h[day]
}

func TestDailyLimitIsExactUnderConcurrency(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "ci", Tier: "pro"})
	day := clock.Day(s.App.Clock.Now())
	for run := range 3 {
		key, prefix := c.CreateKey(tok, map[string]any{"name": "run " + strconv.Itoa(run), "dailyLimit": 25})
		got := hammer(t, c, key, 200)
		if got[200] != 25 || got[429] != 175 || len(got) != 2 {
			t.Fatalf("run %d: statuses %v, want exactly 25×200 and 175×429", run, got)
		}
		if n := storedCount(t, s.App.Store, prefix, day); n != 25 {
			t.Fatalf("run %d: stored counter %d, want 25", run, n)
		}
	}
	t.Run("limit 250 with 1000 requests", func(t *testing.T) {
		key, prefix := c.CreateKey(tok, map[string]any{"name": "big", "dailyLimit": 250})
		got := hammer(t, c, key, 1000)
		if got[200] != 250 || got[429] != 750 {
			t.Fatalf("statuses %v, want 250×200 and 750×429", got)
		}
		if n := storedCount(t, s.App.Store, prefix, day); n != 250 {
			t.Fatalf("stored counter %d, want 250", n)
		}
	})
}

func TestRateLimitHeaders(t *testing.T) {
	clk := clock.NewFixed(time.Date(2026, 11, 25, 23, 0, 0, 0, time.UTC))
	s := testenv.Stack(t, testenv.Options{Clock: clk})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "h", Tier: "pro"})
	key, prefix := c.CreateKey(tok, map[string]any{"name": "h", "dailyLimit": 3})
	reset := strconv.FormatInt(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).Unix(), 10)

	steps := []struct {
		name         string
		method, path string
		body         any
		status       int
		remaining    string
	}{
		{"success carries the headers", "GET", "/v1/usage", nil, 200, "2"},
		{"a handler's 403 carries them and counts", "GET", "/v1/api-keys", nil, 403, "1"},
		{"a handler's 400 carries them and counts", "GET", "/v1/usage?days=0", nil, 400, "0"},
		{"the 429 carries them", "GET", "/v1/usage", nil, 429, "0"},
		{"a 429 on another route too", "DELETE", "/v1/api-keys/" + prefix, nil, 429, "0"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			r := c.Do(st.method, st.path, testenv.Bearer(key), st.body)
			if r.Status != st.status {
				t.Fatalf("status %d, want %d: %s", r.Status, st.status, r.Body)
			}
			h := r.Header
			if h.Get("X-RateLimit-Limit") != "3" || h.Get("X-RateLimit-Remaining") != st.remaining || h.Get("X-RateLimit-Reset") != reset {
				t.Fatalf("headers %v, want limit 3 remaining %s reset %s", h, st.remaining, reset)
			}
			if st.status == 429 {
				if h.Get("Retry-After") != "3600" || r.Code() != "RateLimitExceeded" {
					t.Fatalf("429 Retry-After %q code %q", h.Get("Retry-After"), r.Code())
				}
			} else if h.Get("Retry-After") != "" {
				t.Fatalf("Retry-After on a %d", st.status)
			}
		})
	}
	t.Run("JWT requests are not metered and carry no headers", func(t *testing.T) {
		r := c.Do("GET", "/v1/usage", testenv.Bearer(tok), nil)
		testenv.Must(t, r, 200, "")
		if r.Header.Get("X-RateLimit-Limit") != "" {
			t.Fatalf("JWT response has rate-limit headers: %v", r.Header)
		}
	})
	t.Run("raising the limit mid-day lets the key through at once", func(t *testing.T) {
		testenv.Must(t, c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(tok), map[string]any{"dailyLimit": 4}), 200, "")
		r := c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
		testenv.Must(t, r, 200, "")
		if r.Header.Get("X-RateLimit-Remaining") != "0" {
			t.Fatalf("remaining %q", r.Header.Get("X-RateLimit-Remaining"))
		}
	})
	t.Run("lowering the limit below today's count is 429 on the next request", func(t *testing.T) {
		testenv.Must(t, c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(tok), map[string]any{"dailyLimit": 1}), 200, "")
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 429, "RateLimitExceeded")
	})
}

func TestDayRollover(t *testing.T) {
	clk := clock.NewFixed(time.Date(2026, 11, 25, 23, 59, 59, 999_000_000, time.UTC))
	s := testenv.Stack(t, testenv.Options{Clock: clk})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "r", Tier: "pro", TTL: 48 * time.Hour})
	key, prefix := c.CreateKey(tok, map[string]any{"name": "r", "dailyLimit": 1})

	r := c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
	testenv.Must(t, r, 200, "")
	if r.Data()["date"] != "2026-11-25" || r.Header.Get("X-RateLimit-Reset") != strconv.FormatInt(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC).Unix(), 10) {
		t.Fatalf("before midnight: %s %v", r.Body, r.Header)
	}
	r = c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
	testenv.Must(t, r, 429, "RateLimitExceeded")
	if r.Header.Get("Retry-After") != "1" {
		t.Fatalf("Retry-After %q one millisecond before midnight, want 1", r.Header.Get("Retry-After"))
	}

	clk.Set(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC))
	r = c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
	testenv.Must(t, r, 200, "")
	if r.Data()["date"] != "2026-11-26" || r.Data()["resetsAt"] != "2026-11-27T00:00:00Z" {
		t.Fatalf("after midnight: %s", r.Body)
	}
	if storedCount(t, s.App.Store, prefix, "2026-11-25") != 1 || storedCount(t, s.App.Store, prefix, "2026-11-26") != 1 {
		t.Fatal("the two requests did not land on their own days")
	}
}

// TestStoreCallsPerRequest counts DynamoDB calls through the local gateway
// with its emulated API Gateway authorizer cache on (as deployed): a cold
// key request costs the authorizer's read and the meter's write; a warm one
// exactly one write and no read; a JWT costs neither.
func TestStoreCallsPerRequest(t *testing.T) {
	probe := &testenv.Probe{}
	clk := clock.NewFixed(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	s := testenv.Stack(t, testenv.Options{Clock: clk, DynamoDBOptions: []func(*dynamodb.Options){probe.Option()}})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "p", Tier: "pro", TTL: 24 * time.Hour})
	key, _ := c.CreateKey(tok, map[string]any{"name": "p"})

	probe.Calls()
	testenv.Must(t, c.Do("GET", "/v1/api-keys", testenv.Bearer(tok), nil), 200, "")
	if got := probe.Calls(); got["GetItem"] != 0 || got["UpdateItem"] != 0 || got["Query"] != 1 || got["BatchGetItem"] != 1 {
		t.Fatalf("JWT list: %v, want the listing's Query and BatchGetItem and no key read or meter write", got)
	}

	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
	if got := probe.Calls(); got["GetItem"] != 1 || got["UpdateItem"] != 1 || len(got) != 2 {
		t.Fatalf("cold key request: %v, want 1 GetItem + 1 UpdateItem", got)
	}
	for i := range 10 {
		clk.Advance(time.Second)
		if i == 5 {
			// A new authorizer cache window: the authorizer's own positive
			// cache still answers without a read.
			s.Gateway.FlushCache()
		}
		testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
		if got := probe.Calls(); got["UpdateItem"] != 1 || len(got) != 1 {
			t.Fatalf("warm key request %d: %v, want exactly 1 UpdateItem and no read", i, got)
		}
	}
	// A key's own history: the meter's write returned the budget's days, so
	// only the archived ones are read.
	testenv.Must(t, c.Do("GET", "/v1/usage?days=7", testenv.Bearer(key), nil), 200, "")
	if got := probe.Calls(); got["UpdateItem"] != 1 || got["Query"] != 1 || len(got) != 2 {
		t.Fatalf("warm key history: %v, want 1 UpdateItem + 1 Query", got)
	}
	clk.Advance(time.Minute)
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
	r := c.Do("GET", "/v1/api-keys", testenv.Bearer(tok), nil)
	last := r.Data()["keys"].([]any)[0].(map[string]any)["lastUsedAt"]
	if last != clk.Now().Format(time.RFC3339) {
		t.Fatalf("lastUsedAt %v, want %s (written by the meter's one write, exact to the second)", last, clk.Now().Format(time.RFC3339))
	}
}
