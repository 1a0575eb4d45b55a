package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
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
// the rate. The first error stops every goroutine and fails the benchmark
// from its own goroutine (FailNow from the others would not stop it).
func parallel(b *testing.B, op func() error) {
	b.Helper()
	var (
		next     atomic.Int64
		wg       sync.WaitGroup
		failOnce sync.Once
		failed   error
	)
	b.ResetTimer()
	start, cpu0 := time.Now(), processCPU()
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if err := op(); err != nil {
					failOnce.Do(func() { failed = err })
					next.Store(int64(b.N)) // the others stop too
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	if failed != nil {
		b.Fatal(failed)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
	// This process's CPU (client, gateway, SDK; not dynalite's) per request:
	// what the gateway adds to the store's own cost on the two shared cores.
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "go-cpu-µs/req")
}

// processCPU is the user and system CPU time this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// get is what a client of the API does per request, and nothing more: send
// it, read the whole answer, check the status. (testenv.Client also decodes
// and checks every answer against docs/openapi.yaml; the store side of the
// comparison pays for nothing like that, so the benchmark does not either.)
func get(c *http.Client, url, auth string) error { return send(c, "GET", url, auth, http.StatusOK) }

// send is get for any method without a body, expecting status want.
func send(c *http.Client, method, url, auth string, want int) error {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %d: %s", method, url, resp.StatusCode, body)
	}
	return nil
}

// benchHTTP is a client that keeps enough connections for the concurrency.
func benchHTTP() *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 2 * benchConcurrency, MaxIdleConnsPerHost: 2 * benchConcurrency,
	}}
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
		cl, auth := benchHTTP(), testenv.Bearer(viaGateway.Secret.String())
		parallel(b, func() error { return get(cl, s.URL+"/v1/usage", auth) })
	})
	b.Run("gateway-product-c"+c, func(b *testing.B) {
		cl, auth := benchHTTP(), testenv.Bearer(viaProduct.Secret.String())
		parallel(b, func() error { return send(cl, "POST", s.URL+"/v1/reports", auth, http.StatusCreated) })
	})
	b.Run("gateway-jwt-c"+c, func(b *testing.B) {
		cl := benchHTTP()
		auth := testenv.Bearer(testenv.Token(b, s, devissuer.Token{Sub: "bench", Tier: "enterprise"}))
		parallel(b, func() error { return get(cl, s.URL+"/v1/api-keys", auth) })
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
