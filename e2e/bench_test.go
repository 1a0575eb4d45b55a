package e2e

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

// benchConcurrency is the number of requests in flight in the throughput
// benchmarks: enough to keep dynalite (one Node.js thread) saturated on two
// cores.
const benchConcurrency = 16

// parallel runs op b.N times from benchConcurrency goroutines and reports
// the rate.
func parallel(b *testing.B, op func() error) {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := op(); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkThroughput compares, at the same concurrency and in one run:
//   - store-update: dynalite's raw conditional UpdateItem (the meter's write);
//   - store-get+update: the two store calls a key request needs, back to back
//     (the authorizer's GetItem and the meter's UpdateItem) with no HTTP;
//   - gateway-key: whole key-authenticated requests through the local gateway
//     over HTTP (authorizer, meter, handler, envelopes).
//
// make bench divides the gateway rate by the store rates.
func BenchmarkThroughput(b *testing.B) {
	s := testenv.Stack(b, testenv.Options{Log: discard{}})
	ctx := context.Background()
	st := s.App.Store
	k, _ := apikey.New()
	rec := keys.Record{Prefix: k.Prefix(), Hash: k.Hash(), Owner: "bench", Tier: principal.Enterprise, Name: "bench",
		DailyLimit: 1_000_000_000, Status: keys.Active, CreatedAt: s.App.Clock.Now(), UpdatedAt: s.App.Clock.Now()}
	if err := st.PutKey(ctx, rec); err != nil {
		b.Fatal(err)
	}
	day := "2026-11-25"
	exp := s.App.Clock.Now().Add(90 * 24 * time.Hour)
	c := strconv.Itoa(benchConcurrency)

	b.Run("store-update-c"+c, func(b *testing.B) {
		parallel(b, func() error {
			_, err := st.Increment(ctx, "csk_live_bbbbbbbb", day, 1_000_000_000, exp)
			return err
		})
	})
	b.Run("store-get+update-c"+c, func(b *testing.B) {
		parallel(b, func() error {
			if _, err := st.GetKey(ctx, rec.Prefix); err != nil {
				return err
			}
			_, err := st.Increment(ctx, "csk_live_cccccccc", day, 1_000_000_000, exp)
			return err
		})
	})
	b.Run("gateway-key-c"+c, func(b *testing.B) {
		cl := testenv.NewClient(b, s)
		auth := testenv.Bearer(k.String())
		parallel(b, func() error {
			r := cl.Do("GET", "/v1/usage", auth, nil)
			if r.Status != 200 {
				b.Fatalf("status %d: %s", r.Status, r.Body)
			}
			return nil
		})
	})
	b.Run("gateway-jwt-c"+c, func(b *testing.B) {
		cl := testenv.NewClient(b, s)
		auth := testenv.Bearer(testenv.Token(b, s, devissuer.Token{Sub: "bench", Tier: "enterprise"}))
		parallel(b, func() error {
			r := cl.Do("GET", "/v1/api-keys", auth, nil)
			if r.Status != 200 {
				b.Fatalf("status %d: %s", r.Status, r.Body)
			}
			return nil
		})
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
