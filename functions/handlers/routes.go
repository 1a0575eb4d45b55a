package handlers

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/app"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/secretscan"
)

// Route is one of keygate's own routes (route.Keygate) with its handler.
type Route struct {
	route.Route
	Handler func(a *app.App) lambdahttp.Handler
}

// handlers builds each of keygate's own routes' handler, by the function
// that serves it (route.Route.Function).
var handlers = map[string]func(a *app.App) lambdahttp.Handler{
	"createkey":   func(a *app.App) lambdahttp.Handler { return CreateKey(a.Keys) },
	"listkeys":    func(a *app.App) lambdahttp.Handler { return ListKeys(a.Keys) },
	"updatekey":   func(a *app.App) lambdahttp.Handler { return UpdateKey(a.Keys) },
	"revokekey":   func(a *app.App) lambdahttp.Handler { return RevokeKey(a.Keys) },
	"rotatekey":   func(a *app.App) lambdahttp.Handler { return RotateKey(a.Keys) },
	"usage":       func(a *app.App) lambdahttp.Handler { return Usage(a.Usage) },
	"scopes":      func(a *app.App) lambdahttp.Handler { return Scopes(a.Config.AllRoutes()) },
	"wslistkeys":  func(a *app.App) lambdahttp.Handler { return WorkspaceListKeys(a.Keys) },
	"wscreatekey": func(a *app.App) lambdahttp.Handler { return WorkspaceCreateKey(a.Keys) },
	"wsrevokekey": func(a *app.App) lambdahttp.Handler { return WorkspaceRevokeKey(a.Keys) },
	"wsrotatekey": func(a *app.App) lambdahttp.Handler { return WorkspaceRotateKey(a.Keys) },
	"secretscan":  secretScanRoute,
	"auditlog":    func(a *app.App) lambdahttp.Handler { return AuditLog(a.Audit) },
	"wsauditlog":  func(a *app.App) lambdahttp.Handler { return WorkspaceAuditLog(a.Audit) },
}

// Routes is every route of keygate's own API, in route.Keygate's order.
var Routes = ownRoutes()

func ownRoutes() []Route {
	out := make([]Route, len(route.Keygate))
	for i, rt := range route.Keygate {
		h, ok := handlers[rt.Function]
		if !ok {
			panic("handlers: no handler for route " + rt.Name() + " (function " + rt.Function + ")")
		}
		out[i] = Route{Route: rt, Handler: h}
	}
	return out
}

// secretScanRoute builds the secret scanning handler once per process: its
// key source caches GitHub's key list for the life of the Lambda container.
func secretScanRoute(a *app.App) lambdahttp.Handler {
	keys := secretscan.NewKeySource(secretscan.KeySourceOptions{URL: a.Config.GitHubKeysURL, Clock: a.Clock, Log: a.Log})
	return SecretScan(&secretscan.Verifier{Keys: keys}, a.Keys, a.Log)
}

// Lambda wraps the route's handler for a: the metering adapter, or the
// public one, with the CORS headers of the configured web origins on every
// response.
func (rt Route) Lambda(a *app.App) lambdahttp.Lambda {
	return Wrap(a, rt.Route, rt.Handler(a))
}

// Wrap puts h behind keygate's adapter for route rt: the meter at the
// route's cost, envelopes, recovery, CORS. A product's routes are wrapped the
// same way (local mode serves them beside keygate's own).
func Wrap(a *app.App, rt route.Route, h lambdahttp.Handler) lambdahttp.Lambda {
	l := lambdahttp.Adapter(h, lambdahttp.Options{Meter: a.Meter, Log: a.Log, Clock: a.Clock, Route: rt})
	return lambdahttp.WithCORS(l, lambdahttp.NewCORS(a.Config.AllowedOrigins))
}

// Main is the whole main of a route's Lambda: read the configuration once
// (exiting with a message that names a missing variable), build the store and
// services once, and serve the named route behind the metering adapter.
func Main(function string) {
	for _, rt := range Routes {
		if rt.Function != function {
			continue
		}
		a, err := app.FromEnv(context.Background(), app.LambdaLogger())
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", function, err)
			os.Exit(1)
		}
		lambda.Start(rt.Lambda(a))
		return
	}
	fmt.Fprintf(os.Stderr, "no route is served by %q\n", function)
	os.Exit(1)
}
