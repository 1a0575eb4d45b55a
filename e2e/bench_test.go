package e2e

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/metering"
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
//   - store-update: dynalite's raw conditional UpdateItem, the meter's write
//     (Store.Spend on a budget of its own, no HTTP);
//   - gateway-key: whole key-authenticated requests through the local gateway
//     over HTTP (authorizer cache, meter, handler, envelopes), which cost
//     exactly that one write each once warm;
//   - gateway-product: a key's POST /v1/reports, the example product's
//     cost-5 route behind the guard package: the same one write;
//   - gateway-jwt: JWT-authenticated listings, for reference.
//
// make bench divides the gateway rate by the store rate.
func BenchmarkThroughput(b *testing.B) {
	s := testenv.Stack(b, testenv.Options{Log: discard{}})
	ctx := context.Background()
	st := s.App.Store
	owner := principal.Principal{Sub: "bench", Tier: principal.Enterprise, Method: principal.ViaJWT}
	name, limit := "bench", 1_000_000
	create := func() keys.Created {
		c, err := s.App.Keys.Create(ctx, owner, keys.User("bench"), keys.CreateInput{Name: &name, DailyLimit: &limit})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	viaGateway, direct, viaProduct := create(), create(), create()
	c := strconv.Itoa(benchConcurrency)

	b.Run("store-update-c"+c, func(b *testing.B) {
		parallel(b, func() error {
			_, err := st.Spend(ctx, metering.Charge{Budget: direct.Key.Budget, Prefix: direct.Key.Prefix, At: s.App.Clock.Now(), Cost: 1})
			return err
		})
	})
	b.Run("gateway-key-c"+c, func(b *testing.B) {
		cl := testenv.NewClient(b, s)
		auth := testenv.Bearer(viaGateway.Secret.String())
		parallel(b, func() error {
			r := cl.Do("GET", "/v1/usage", auth, nil)
			if r.Status != 200 {
				b.Fatalf("status %d: %s", r.Status, r.Body)
			}
			return nil
		})
	})
	b.Run("gateway-product-c"+c, func(b *testing.B) {
		cl := testenv.NewClient(b, s)
		headers := map[string]string{"Authorization": testenv.Bearer(viaProduct.Secret.String())}
		parallel(b, func() error {
			r, err := cl.Try("POST", "/v1/reports", headers, nil)
			if err == nil && r.Status != 201 {
				err = fmt.Errorf("status %d: %s", r.Status, r.Body)
			}
			return err
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
