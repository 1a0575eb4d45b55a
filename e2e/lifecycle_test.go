package e2e

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/local/devstack"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

// Every test here runs behind the local gateway's emulated API Gateway
// authorizer cache (300 s, the deployed default) and the authorizer's own
// positive key cache: the key is always warm in both when the change is made,
// so it is the meter's one write that must refuse the very next request.

type lifecycle struct {
	s   *devstack.Stack
	c   *testenv.Client
	clk *clock.Fixed
	tok string
}

func newLifecycle(t *testing.T) lifecycle {
	clk := clock.NewFixed(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	s := testenv.Stack(t, testenv.Options{Clock: clk})
	if s.Gateway.CacheTTL != 300*time.Second {
		t.Fatalf("the local gateway's authorizer cache is %v, want the deployed default 300s", s.Gateway.CacheTTL)
	}
	return lifecycle{s: s, c: testenv.NewClient(t, s), clk: clk,
		tok: testenv.Token(t, s, devissuer.Token{Sub: "lena", Tier: "pro", TTL: 72 * time.Hour})}
}

// warm creates a key and uses it once, so every cache in front holds it.
func (l lifecycle) warm(t *testing.T, body map[string]any) (key, prefix string) {
	t.Helper()
	key, prefix = l.c.CreateKey(l.tok, body)
	testenv.Must(t, l.c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
	return key, prefix
}

func (l lifecycle) use(t *testing.T, key string) testenv.Response {
	t.Helper()
	return l.c.Do("GET", "/v1/usage", testenv.Bearer(key), nil)
}

// try is use for goroutines other than the test's.
func (l lifecycle) try(key string) (testenv.Response, error) {
	return l.c.Try("GET", "/v1/usage", map[string]string{"Authorization": testenv.Bearer(key)}, nil)
}

func TestRefusedOnTheVeryNextRequestThroughCaches(t *testing.T) {
	l := newLifecycle(t)

	t.Run("revoke", func(t *testing.T) {
		key, prefix := l.warm(t, map[string]any{"name": "r"})
		testenv.Must(t, l.c.Do("DELETE", "/v1/api-keys/"+prefix, testenv.Bearer(l.tok), nil), 200, "")
		testenv.Must(t, l.use(t, key), 401, "Unauthorized")
	})
	t.Run("PATCH to a lower limit", func(t *testing.T) {
		key, prefix := l.warm(t, map[string]any{"name": "p", "dailyLimit": 10})
		testenv.Must(t, l.use(t, key), 200, "")
		testenv.Must(t, l.c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(l.tok), map[string]any{"dailyLimit": 2}), 200, "")
		r := l.use(t, key)
		testenv.Must(t, r, 429, "RateLimitExceeded")
		if r.Header.Get("X-RateLimit-Limit") != "2" {
			t.Fatalf("the 429 shows the stored limit: %v", r.Header)
		}
	})
	t.Run("expiry passing", func(t *testing.T) {
		at := l.clk.Now().Add(10 * time.Minute)
		key, _ := l.warm(t, map[string]any{"name": "e", "expiresAt": at.Format(time.RFC3339)})
		l.clk.Set(at.Add(-time.Second))
		testenv.Must(t, l.use(t, key), 200, "")
		l.clk.Set(at)
		testenv.Must(t, l.use(t, key), 401, "Unauthorized")
	})
	t.Run("grace ending", func(t *testing.T) {
		old, prefix := l.warm(t, map[string]any{"name": "g"})
		r := l.c.Do("POST", "/v1/api-keys/"+prefix+"/rotate", testenv.Bearer(l.tok), map[string]any{"gracePeriodSeconds": 60})
		testenv.Must(t, r, 201, "")
		l.clk.Advance(59 * time.Second)
		testenv.Must(t, l.use(t, old), 200, "")
		l.clk.Advance(time.Second)
		testenv.Must(t, l.use(t, old), 401, "Unauthorized")
		testenv.Must(t, l.use(t, r.Data()["key"].(string)), 200, "")
	})
	t.Run("suspension, and back when the tier returns", func(t *testing.T) {
		key, prefix := l.warm(t, map[string]any{"name": "s", "dailyLimit": 9000})
		if _, err := l.s.App.Keys.SetTier(context.Background(), keys.User("lena"), principal.Free); err != nil {
			t.Fatal(err)
		}
		testenv.Must(t, l.use(t, key), 401, "Unauthorized")
		r := l.c.Do("GET", "/v1/api-keys?status=all", testenv.Bearer(l.tok), nil)
		if status := listed(t, r, prefix)["status"]; status != "suspended" {
			t.Fatalf("status %v, want suspended", status)
		}
		testenv.Must(t, l.c.Do("POST", "/v1/api-keys", testenv.Bearer(l.tok), map[string]any{"name": "while free"}), 403, "Forbidden")
		if _, err := l.s.App.Keys.SetTier(context.Background(), keys.User("lena"), principal.Pro); err != nil {
			t.Fatal(err)
		}
		r = l.use(t, key)
		testenv.Must(t, r, 200, "")
		if r.Header.Get("X-RateLimit-Limit") != "9000" {
			t.Fatalf("limit within the pro cap kept: %v", r.Header)
		}
	})
}

func listed(t *testing.T, r testenv.Response, prefix string) map[string]any {
	t.Helper()
	for _, k := range r.Data()["keys"].([]any) {
		if k := k.(map[string]any); k["prefix"] == prefix {
			return k
		}
	}
	t.Fatalf("%s not listed: %s", prefix, r.Body)
	return nil
}

func TestTierDowngradeLowersLimits(t *testing.T) {
	l := newLifecycle(t)
	ent := testenv.Token(t, l.s, devissuer.Token{Sub: "eve", Tier: "enterprise"})
	key, prefix := l.c.CreateKey(ent, map[string]any{"name": "big", "dailyLimit": 500000})
	testenv.Must(t, l.use(t, key), 200, "")
	if _, err := l.s.App.Keys.SetTier(context.Background(), keys.User("eve"), principal.Pro); err != nil {
		t.Fatal(err)
	}
	r := l.use(t, key)
	testenv.Must(t, r, 200, "")
	if r.Header.Get("X-RateLimit-Limit") != "10000" {
		t.Fatalf("a key above the new tier's cap is lowered to it: %v", r.Header)
	}
	t.Run("billing's tier overrides the token's claim for caps", func(t *testing.T) {
		// eve's token still says enterprise; billing says pro.
		testenv.Must(t, l.c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(ent), map[string]any{"dailyLimit": 20000}), 403, "Forbidden")
		testenv.Must(t, l.c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(ent), map[string]any{"dailyLimit": 5000}), 200, "")
	})
	t.Run("a free owner may still list, rename, lower and revoke", func(t *testing.T) {
		if _, err := l.s.App.Keys.SetTier(context.Background(), keys.User("eve"), principal.Free); err != nil {
			t.Fatal(err)
		}
		free := testenv.Token(t, l.s, devissuer.Token{Sub: "eve", Tier: "free"})
		testenv.Must(t, l.c.Do("GET", "/v1/api-keys?status=all", testenv.Bearer(free), nil), 200, "")
		testenv.Must(t, l.c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(free), map[string]any{"name": "renamed", "dailyLimit": 10}), 200, "")
		testenv.Must(t, l.c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(free), map[string]any{"dailyLimit": 11}), 403, "Forbidden")
		testenv.Must(t, l.c.Do("POST", "/v1/api-keys/"+prefix+"/rotate", testenv.Bearer(free), nil), 403, "Forbidden")
		testenv.Must(t, l.c.Do("DELETE", "/v1/api-keys/"+prefix, testenv.Bearer(free), nil), 200, "")
	})
}

func TestExpiry(t *testing.T) {
	l := newLifecycle(t)
	at := l.clk.Now().Add(24 * time.Hour).Format(time.RFC3339)
	r := l.c.Do("POST", "/v1/api-keys", testenv.Bearer(l.tok), map[string]any{"name": "x", "expiresAt": at})
	testenv.Must(t, r, 201, "")
	if r.Data()["expiresAt"] != at {
		t.Fatalf("create %s", r.Body)
	}
	key, prefix := r.Data()["key"].(string), r.Data()["prefix"].(string)

	t.Run("PATCH null clears the expiry, a time sets it", func(t *testing.T) {
		r := l.c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(l.tok), `{"expiresAt": null}`)
		testenv.Must(t, r, 200, "")
		if v, ok := r.Data()["expiresAt"]; !ok || v != nil {
			t.Fatalf("%s", r.Body)
		}
		soon := l.clk.Now().Add(time.Hour).Format(time.RFC3339)
		r = l.c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(l.tok), map[string]any{"expiresAt": soon})
		testenv.Must(t, r, 200, "")
		if r.Data()["expiresAt"] != soon {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("past it: 401, hidden from the default list, shown as expired with status=all", func(t *testing.T) {
		testenv.Must(t, l.use(t, key), 200, "")
		l.clk.Advance(time.Hour)
		testenv.Must(t, l.use(t, key), 401, "Unauthorized")
		r := l.c.Do("GET", "/v1/api-keys", testenv.Bearer(l.tok), nil)
		if n := len(r.Data()["keys"].([]any)); n != 0 {
			t.Fatalf("expired key in the default list: %s", r.Body)
		}
		r = l.c.Do("GET", "/v1/api-keys?status=all", testenv.Bearer(l.tok), nil)
		if listed(t, r, prefix)["status"] != "expired" {
			t.Fatalf("%s", r.Body)
		}
		testenv.Must(t, l.c.Do("GET", "/v1/api-keys?status=expired", testenv.Bearer(l.tok), nil), 400, "BadRequest")
	})
	t.Run("an expired key cannot be changed or rotated, but can be revoked for the record", func(t *testing.T) {
		testenv.Must(t, l.c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(l.tok), map[string]any{"expiresAt": nil}), 404, "NotFound")
		testenv.Must(t, l.c.Do("POST", "/v1/api-keys/"+prefix+"/rotate", testenv.Bearer(l.tok), nil), 404, "NotFound")
		testenv.Must(t, l.c.Do("DELETE", "/v1/api-keys/"+prefix, testenv.Bearer(l.tok), nil), 200, "")
	})
}

func TestRotation(t *testing.T) {
	l := newLifecycle(t)
	old, prefix := l.warm(t, map[string]any{"name": "CI", "dailyLimit": 20})
	for range 9 { // 10 of 20 spent with the warm-up
		testenv.Must(t, l.use(t, old), 200, "")
	}
	r := l.c.Do("POST", "/v1/api-keys/"+prefix+"/rotate", testenv.Bearer(l.tok), map[string]any{"gracePeriodSeconds": 3600})
	testenv.Must(t, r, 201, "")
	d := r.Data()
	succ, succPrefix := d["key"].(string), d["prefix"].(string)

	t.Run("the successor is shown once, like a create, with rotatedFrom", func(t *testing.T) {
		if d["rotatedFrom"] != prefix || d["name"] != "CI" || d["dailyLimit"] != 20.0 || d["status"] != "active" || succPrefix == prefix {
			t.Fatalf("%s", r.Body)
		}
		r := l.c.Do("GET", "/v1/api-keys", testenv.Bearer(l.tok), nil)
		if listed(t, r, prefix)["rotatedTo"] != succPrefix || listed(t, r, succPrefix)["rotatedFrom"] != prefix {
			t.Fatalf("%s", r.Body)
		}
		if listed(t, r, prefix)["expiresAt"] != l.clk.Now().Add(time.Hour).Format(time.RFC3339) {
			t.Fatalf("the predecessor's expiresAt is not the grace end: %s", r.Body)
		}
	})
	t.Run("the budget is shared: the successor has 10 left, not 20", func(t *testing.T) {
		r := l.use(t, succ)
		testenv.Must(t, r, 200, "")
		if r.Header.Get("X-RateLimit-Remaining") != "9" {
			t.Fatalf("%v", r.Header)
		}
	})
	t.Run("usage shows the budget once, under the successor", func(t *testing.T) {
		r := l.c.Do("GET", "/v1/usage?days=2", testenv.Bearer(l.tok), nil)
		testenv.Must(t, r, 200, "")
		ks := r.Data()["keys"].([]any)
		if len(ks) != 1 || ks[0].(map[string]any)["prefix"] != succPrefix || ks[0].(map[string]any)["used"] != 11.0 {
			t.Fatalf("%s", r.Body)
		}
	})
	t.Run("during grace the two keys together never pass the limit, under concurrency", func(t *testing.T) {
		var ok atomic.Int64
		var wg sync.WaitGroup
		var errs testenv.Errs
		for i := range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				k := old
				if i%2 == 0 {
					k = succ
				}
				r, err := l.try(k)
				errs.Add(err)
				if err == nil && r.Status == 200 {
					ok.Add(1)
				}
			}()
		}
		wg.Wait()
		errs.Check(t)
		if ok.Load() != 9 {
			t.Fatalf("%d succeeded with 9 left of the shared budget", ok.Load())
		}
	})
	t.Run("rotating again is 409; revoked and unknown keys are 404", func(t *testing.T) {
		testenv.Must(t, l.c.Do("POST", "/v1/api-keys/"+prefix+"/rotate", testenv.Bearer(l.tok), nil), 409, "Conflict")
		testenv.Must(t, l.c.Do("POST", "/v1/api-keys/csk_live_00000000/rotate", testenv.Bearer(l.tok), nil), 404, "NotFound")
		k, p := l.c.CreateKey(l.tok, map[string]any{"name": "gone"})
		_ = k
		testenv.Must(t, l.c.Do("DELETE", "/v1/api-keys/"+p, testenv.Bearer(l.tok), nil), 200, "")
		testenv.Must(t, l.c.Do("POST", "/v1/api-keys/"+p+"/rotate", testenv.Bearer(l.tok), nil), 404, "NotFound")
		other := testenv.Token(t, l.s, devissuer.Token{Sub: "mallory", Tier: "enterprise"})
		testenv.Must(t, l.c.Do("POST", "/v1/api-keys/"+succPrefix+"/rotate", testenv.Bearer(other), nil), 404, "NotFound")
	})
	t.Run("grace bounds: 0 to 86400", func(t *testing.T) {
		_, p := l.c.CreateKey(l.tok, map[string]any{"name": "b"})
		for _, g := range []any{-1, 86401, "60", 1.5} {
			testenv.Must(t, l.c.Do("POST", "/v1/api-keys/"+p+"/rotate", testenv.Bearer(l.tok), map[string]any{"gracePeriodSeconds": g}), 400, "BadRequest")
		}
		testenv.Must(t, l.c.Do("POST", "/v1/api-keys/"+p+"/rotate", testenv.Bearer(l.tok), map[string]any{"gracePeriodSeconds": 86400}), 201, "")
	})
	t.Run("grace 0 stops the old key at once, even warm in every cache", func(t *testing.T) {
		k, p := l.warm(t, map[string]any{"name": "now"})
		r := l.c.Do("POST", "/v1/api-keys/"+p+"/rotate", testenv.Bearer(l.tok), map[string]any{"gracePeriodSeconds": 0})
		testenv.Must(t, r, 201, "")
		testenv.Must(t, l.use(t, k), 401, "Unauthorized")
		testenv.Must(t, l.use(t, r.Data()["key"].(string)), 200, "")
	})
	t.Run("no body at all takes the default grace of an hour", func(t *testing.T) {
		k, p := l.warm(t, map[string]any{"name": "default"})
		r := l.c.Do("POST", "/v1/api-keys/"+p+"/rotate", testenv.Bearer(l.tok), nil)
		testenv.Must(t, r, 201, "")
		l.clk.Advance(59 * time.Minute)
		testenv.Must(t, l.use(t, k), 200, "")
		l.clk.Advance(time.Minute)
		testenv.Must(t, l.use(t, k), 401, "Unauthorized")
	})
}

// TestLimitLoweredMidBurst: while 600 requests race against a key of limit
// 1000, its limit is lowered to 100. No request metered after the PATCH
// returned succeeds while the count is at or above 100: the stored count
// never passes the larger of 100 and the count at the moment the PATCH
// returned, and every success is in it.
func TestLimitLoweredMidBurst(t *testing.T) {
	l := newLifecycle(t)
	key, prefix := l.warm(t, map[string]any{"name": "burst", "dailyLimit": 1000})
	day := clock.Day(l.clk.Now())
	var (
		ok    atomic.Int64
		wg    sync.WaitGroup
		errs  testenv.Errs
		start = make(chan struct{})
	)
	for range 600 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			r, err := l.try(key)
			errs.Add(err)
			if err == nil && r.Status == 200 {
				ok.Add(1)
			}
		}()
	}
	close(start)
	time.Sleep(20 * time.Millisecond)
	testenv.Must(t, l.c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(l.tok), map[string]any{"dailyLimit": 100}), 200, "")
	atPatch := storedCount(t, l.s.App.Store, prefix, day)
	wg.Wait()
	errs.Check(t)
	final := storedCount(t, l.s.App.Store, prefix, day)
	if final > max(100, atPatch) {
		t.Fatalf("count %d after the burst, %d when the PATCH returned: the lowered limit 100 was overshot", final, atPatch)
	}
	if int(ok.Load())+1 != final {
		t.Fatalf("%d successes (+1 warm-up) but the counter says %d", ok.Load(), final)
	}
	t.Logf("count %d when the PATCH returned, %d after the burst, %d successes", atPatch, final, ok.Load())
}

func TestTokenPastExpiryThroughTheGatewayCache(t *testing.T) {
	l := newLifecycle(t)
	short := testenv.Token(t, l.s, devissuer.Token{Sub: "lena", Tier: "pro", TTL: 2 * time.Minute})
	testenv.Must(t, l.c.Do("GET", "/v1/api-keys", testenv.Bearer(short), nil), 200, "")
	// Still inside the gateway's 300 s cache window, past exp and its leeway.
	l.clk.Advance(2*time.Minute + 61*time.Second)
	testenv.Must(t, l.c.Do("GET", "/v1/api-keys", testenv.Bearer(short), nil), 401, "Unauthorized")
}

// TestStalledStore: the stack's own dynalite is stopped with SIGSTOP (it
// accepts connections and never answers); key and JWT requests that need it
// get the 503 envelope within the store deadline, and all is well once it
// runs again.
func TestStalledStore(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{OwnStore: true, Log: io.Discard, Env: map[string]string{config.EnvStoreTimeout: "400"}})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "st", Tier: "pro"})
	warmKey, _ := c.CreateKey(tok, map[string]any{"name": "warm"})
	coldKey, _ := c.CreateKey(tok, map[string]any{"name": "cold"})
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(warmKey), nil), 200, "")

	if err := s.Dynalite.Pause(); err != nil {
		t.Fatal(err)
	}
	resumed := false
	defer func() {
		if !resumed {
			_ = s.Dynalite.Resume()
		}
	}()
	for _, tc := range []struct{ name, auth, path string }{
		{"warm key (meter write stalls)", warmKey, "/v1/usage"},
		{"cold key (authorizer read stalls)", coldKey, "/v1/usage"},
		{"JWT listing", tok, "/v1/api-keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			r := c.Do("GET", tc.path, testenv.Bearer(tc.auth), nil)
			took := time.Since(start)
			testenv.Must(t, r, 503, "ServiceUnavailable")
			// One deadline (400 ms), plus a failure-path read at most.
			if took > 2*time.Second {
				t.Fatalf("503 after %v with a 400 ms deadline", took)
			}
			t.Logf("503 after %v", took.Round(time.Millisecond))
		})
	}
	if err := s.Dynalite.Resume(); err != nil {
		t.Fatal(err)
	}
	resumed = true
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(warmKey), nil), 200, "")
}

// TestJWKSDownWithUnseenKid: the pool rotated its signing key and its JWKS
// cannot be fetched: a token with the new kid is 503 (keygate cannot decide),
// not a 401 that blames it; tokens of the known key still pass.
func TestJWKSDownWithUnseenKid(t *testing.T) {
	s := testenv.Stack(t, testenv.Options{UnknownKIDRefresh: time.Millisecond})
	c := testenv.NewClient(t, s)
	known := testenv.Token(t, s, devissuer.Token{Sub: "j", Tier: "pro"})
	if err := s.Issuer.Rotate(); err != nil {
		t.Fatal(err)
	}
	s.Issuer.JWKSDown(true)
	unseen := testenv.Token(t, s, devissuer.Token{Sub: "j", Tier: "pro"})
	testenv.Must(t, c.Do("GET", "/v1/api-keys", testenv.Bearer(unseen), nil), 503, "ServiceUnavailable")
	testenv.Must(t, c.Do("GET", "/v1/api-keys", testenv.Bearer(known), nil), 200, "")
	s.Issuer.JWKSDown(false)
	time.Sleep(5 * time.Millisecond)
	testenv.Must(t, c.Do("GET", "/v1/api-keys", testenv.Bearer(unseen), nil), 200, "")
}
