package handlers

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/keygate/keygate/shared/app"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/secretscan"
)

// Route is one API route and the Lambda that serves it. infra/ deploys the
// same table of routes; local mode serves it.
type Route struct {
	Function string // the Lambda's name, functions/<Function>
	Method   string
	Path     string
	Handler  func(a *app.App) lambdahttp.Handler
	// Public routes have no bearer authorizer (and so no meter).
	Public bool
	// MaxBody is the route's body limit; 0 is lambdahttp.MaxBody (16 KiB).
	MaxBody int
}

// Routes is every route of the API.
var Routes = []Route{
	{Function: "createkey", Method: "POST", Path: "/v1/api-keys", Handler: func(a *app.App) lambdahttp.Handler { return CreateKey(a.Keys) }},
	{Function: "listkeys", Method: "GET", Path: "/v1/api-keys", Handler: func(a *app.App) lambdahttp.Handler { return ListKeys(a.Keys) }},
	{Function: "updatekey", Method: "PATCH", Path: "/v1/api-keys/{prefix}", Handler: func(a *app.App) lambdahttp.Handler { return UpdateKey(a.Keys) }},
	{Function: "revokekey", Method: "DELETE", Path: "/v1/api-keys/{prefix}", Handler: func(a *app.App) lambdahttp.Handler { return RevokeKey(a.Keys) }},
	{Function: "rotatekey", Method: "POST", Path: "/v1/api-keys/{prefix}/rotate", Handler: func(a *app.App) lambdahttp.Handler { return RotateKey(a.Keys) }},
	{Function: "usage", Method: "GET", Path: "/v1/usage", Handler: func(a *app.App) lambdahttp.Handler { return Usage(a.Usage) }},
	{Function: "wslistkeys", Method: "GET", Path: "/api/v1/workspaces/{id}/api-keys", Handler: func(a *app.App) lambdahttp.Handler { return WorkspaceListKeys(a.Keys) }},
	{Function: "wscreatekey", Method: "POST", Path: "/api/v1/workspaces/{id}/api-keys", Handler: func(a *app.App) lambdahttp.Handler { return WorkspaceCreateKey(a.Keys) }},
	{Function: "wsrevokekey", Method: "DELETE", Path: "/api/v1/workspaces/{id}/api-keys/{keyId}", Handler: func(a *app.App) lambdahttp.Handler { return WorkspaceRevokeKey(a.Keys) }},
	{Function: "wsrotatekey", Method: "POST", Path: "/api/v1/workspaces/{id}/api-keys/{keyId}/rotate", Handler: func(a *app.App) lambdahttp.Handler { return WorkspaceRotateKey(a.Keys) }},
	{Function: "secretscan", Method: "POST", Path: "/v1/secret-scanning/github", Public: true, MaxBody: secretscan.MaxReportBytes, Handler: secretScanRoute},
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
	l := lambdahttp.Adapter(rt.Handler(a), lambdahttp.Options{Meter: a.Meter, Log: a.Log, Clock: a.Clock, Public: rt.Public, MaxBody: rt.MaxBody})
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
