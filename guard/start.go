package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/app"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/lambdahttp"
)

const envRoutes = config.EnvRoutes

// Start runs h as this Lambda's handler behind keygate and does not return.
// It reads the configuration (see the package documentation) once, builds
// the DynamoDB client once, and starts the Lambda runtime; a missing or
// malformed setting ends the process at once with a message that names it.
func Start(h Handler) {
	l, err := fromEnv(context.Background(), os.Getenv, h, app.LambdaLogger())
	if err != nil {
		fmt.Fprintf(os.Stderr, "keygate guard: %v\n", err)
		os.Exit(1)
	}
	lambda.Start(l)
}

// fromEnv wires h from settings read through getenv: the meter on the
// configured table, this Lambda's routes, the CORS origins.
func fromEnv(ctx context.Context, getenv func(string) string, h Handler, log *slog.Logger) (lambdahttp.Lambda, error) {
	if h == nil {
		return nil, errors.New("guard.Start needs a handler")
	}
	cfg, err := config.LoadStoreFrom(getenv)
	if err != nil {
		return nil, err
	}
	if len(cfg.Routes) == 0 {
		return nil, fmt.Errorf("%s is not set: this Lambda's routes as JSON, e.g. "+
			`[{"method":"GET","path":"/v1/reports","scope":"reports:read","cost":1}] (keygate's CDK construct sets it)`, envRoutes)
	}
	a, err := app.New(ctx, cfg, log, nil)
	if err != nil {
		return nil, err
	}
	return newLambda(h, cfg.Routes, options{Meter: a.Meter, Log: log, Clock: a.Clock, Origins: cfg.AllowedOrigins})
}

// options are what a product Lambda is wired with.
type options struct {
	Meter   lambdahttp.Meter
	Log     *slog.Logger
	Clock   clock.Clock
	Origins []string
}

// routeKey is a route as an event names it.
type routeKey struct{ method, resource string }

// newLambda serves h on routes: each route behind keygate's adapter (the
// meter at its cost, its scope, its body limit) with CORS, chosen by the
// event's method and resource.
func newLambda(h Handler, routes route.Table, o options) (lambdahttp.Lambda, error) {
	if rs, ok := h.(Routes); ok {
		if err := rs.check(routes); err != nil {
			return nil, err
		}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	cors := lambdahttp.NewCORS(o.Origins)
	byRoute := make(map[routeKey]lambdahttp.Lambda, len(routes))
	for _, rt := range routes {
		a := lambdahttp.Adapter(h.serve, lambdahttp.Options{Meter: o.Meter, Log: o.Log, Clock: o.Clock, Route: rt})
		byRoute[routeKey{rt.Method, rt.Path}] = lambdahttp.WithCORS(a, cors)
	}
	summary := routes.Summary()
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		if l, ok := byRoute[routeKey{ev.HTTPMethod, ev.Resource}]; ok {
			return l(ctx, ev)
		}
		return undeclared(ctx, ev, summary, o, cors)
	}, nil
}

// undeclared answers a request for a route this Lambda was not configured
// with: a 500 that is logged (the deployment is wrong), never the handler
// unmetered.
func undeclared(ctx context.Context, ev events.APIGatewayProxyRequest, declared string, o options, cors *lambdahttp.CORS) (events.APIGatewayProxyResponse, error) {
	fail := func(context.Context, *lambdahttp.Request) (lambdahttp.Response, error) {
		return lambdahttp.Response{}, apierr.Internal(fmt.Errorf("configuration: %s %s is not among this Lambda's routes in %s (%s)",
			ev.HTTPMethod, ev.Resource, envRoutes, declared))
	}
	rt := route.Route{Method: ev.HTTPMethod, Path: ev.Resource, Public: true}
	if strings.TrimSpace(rt.Path) == "" {
		rt.Path = "(no resource)"
	}
	return lambdahttp.WithCORS(lambdahttp.Adapter(fail, lambdahttp.Options{Log: o.Log, Clock: o.Clock, Route: rt}), cors)(ctx, ev)
}
