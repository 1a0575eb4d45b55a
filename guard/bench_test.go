package guard_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/guard"
	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/metrics"
	"github.com/keygate/keygate/shared/principal"
)

// The package's overhead around a product handler, the store call
// excluded: a whole invocation of a product Lambda as Start wires it (route
// lookup, the adapter with its scope check, a meter that answers at once,
// the principal, the request for the handler, the envelope, the rate-limit
// and CORS headers, the log line and the metrics line, both written to
// io.Discard as Lambda would write them to stdout) around a handler that
// answers a small object. BenchmarkAdapterAlone is keygate's adapter around
// its own kind of handler, for comparison: the difference is the guard's
// own share.

// benchEvent is a key's request as API Gateway hands it over: a dozen
// headers, as a browser or SDK sends them.
func benchEvent(method, resource, path, body string) events.APIGatewayProxyRequest {
	ev := event(method, resource, path, keyPrincipal, body)
	for _, h := range []string{"accept", "accept-encoding", "host", "user-agent", "x-amzn-trace-id", "x-forwarded-for", "x-forwarded-port", "x-forwarded-proto", "via"} {
		ev.Headers[h] = "v"
		ev.MultiValueHeaders[h] = []string{"v"}
	}
	ev.Headers["origin"] = "https://app.example.com"
	ev.MultiValueHeaders["origin"] = []string{"https://app.example.com"}
	return ev
}

// answerAtOnce is the meter's answer without the store.
type answerAtOnce struct{ q metering.Quota }

func (m answerAtOnce) Count(context.Context, principal.Principal, route.Route, netip.Addr) (metering.Quota, error) {
	return m.q, nil
}

func benchOptions() guard.Options {
	return guard.Options{
		Meter: answerAtOnce{quota}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)), Clock: clock.NewFixed(now),
		Origins: []string{"https://app.example.com"},
	}
}

func benchLambda(b *testing.B, l lambdahttp.Lambda, ev events.APIGatewayProxyRequest, status int) {
	b.Helper()
	defer metrics.SetOutput(io.Discard)()
	ctx := context.Background()
	b.ReportAllocs()
	cpu, n := cpuTime(), 0
	for b.Loop() {
		resp, err := l(ctx, ev)
		if err != nil || resp.StatusCode != status {
			b.Fatalf("%v %d %s", err, resp.StatusCode, resp.Body)
		}
		n++
	}
	// The process's CPU time per request (garbage collection included):
	// steadier than ns/op when neighbours keep the cores busy.
	if used := cpuTime() - cpu; used > 0 {
		b.ReportMetric(float64(used.Nanoseconds())/float64(n), "cpu-ns/op")
	}
}

func BenchmarkGuardHandlerFunc(b *testing.B) {
	h := guard.HandlerFunc(func(ctx context.Context, r *guard.Request) (guard.Response, error) {
		caller, _ := guard.PrincipalFrom(ctx)
		return guard.Response{Data: map[string]string{"id": r.PathParams["id"], "owner": caller.Owner()}}, nil
	})
	l, err := guard.NewLambda(h, routes, benchOptions())
	if err != nil {
		b.Fatal(err)
	}
	benchLambda(b, l, benchEvent("GET", "/v1/things/{id}", "/v1/things/t-1", ""), 200)
}

// The net/http handler is a plain function: a ServeMux's routing would be
// the product's cost, not the package's.
func BenchmarkGuardHTTP(b *testing.B) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		caller, _ := guard.PrincipalFrom(r.Context())
		guard.WriteData(w, http.StatusCreated, map[string]string{"id": "t-2", "owner": caller.Owner()})
	})
	l, err := guard.NewLambda(guard.HTTP(h), routes, benchOptions())
	if err != nil {
		b.Fatal(err)
	}
	benchLambda(b, l, benchEvent("POST", "/v1/things", "/v1/things", `{"name":"x"}`), 201)
}

func BenchmarkAdapterAlone(b *testing.B) {
	o := benchOptions()
	h := func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		return lambdahttp.Response{Status: 200, Data: map[string]string{"id": r.PathParams["id"], "owner": r.Principal.Sub}}, nil
	}
	rt := route.Route{Method: "GET", Path: "/v1/things/{id}", Scope: "things:read", Cost: 1}
	l := lambdahttp.WithCORS(lambdahttp.Adapter(h, lambdahttp.Options{Meter: o.Meter, Log: o.Log, Clock: o.Clock, Route: rt}), lambdahttp.NewCORS(o.Origins))
	benchLambda(b, l, benchEvent("GET", "/v1/things/{id}", "/v1/things/t-1", ""), 200)
}
