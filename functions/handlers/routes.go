package handlers

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keygate/keygate/shared/app"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// Route is one API route and the Lambda that serves it. infra/ deploys the
// same table of routes; local mode serves it.
type Route struct {
	Function string // the Lambda's name, functions/<Function>
	Method   string
	Path     string
	Handler  func(a *app.App) lambdahttp.Handler
}

// Routes is every route behind the authorizer.
var Routes = []Route{
	{"createkey", "POST", "/v1/api-keys", func(a *app.App) lambdahttp.Handler { return CreateKey(a.Keys) }},
	{"listkeys", "GET", "/v1/api-keys", func(a *app.App) lambdahttp.Handler { return ListKeys(a.Keys) }},
	{"updatekey", "PATCH", "/v1/api-keys/{prefix}", func(a *app.App) lambdahttp.Handler { return UpdateKey(a.Keys) }},
	{"revokekey", "DELETE", "/v1/api-keys/{prefix}", func(a *app.App) lambdahttp.Handler { return RevokeKey(a.Keys) }},
	{"usage", "GET", "/v1/usage", func(a *app.App) lambdahttp.Handler { return Usage(a.Usage) }},
}

// Main is the whole main of a route's Lambda: read the configuration once
// (exiting with a message that names a missing variable), build the store and
// services once, and serve the named route behind the metering adapter.
func Main(function string) {
	for _, rt := range Routes {
		if rt.Function != function {
			continue
		}
		a, err := app.FromEnv(context.Background(), lambdacontext.NewLogger())
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", function, err)
			os.Exit(1)
		}
		cors := lambdahttp.NewCORS(a.Config.AllowedOrigins)
		lambda.Start(lambdahttp.WithCORS(lambdahttp.Adapter(rt.Handler(a), a.Meter, a.Log), cors))
		return
	}
	fmt.Fprintf(os.Stderr, "no route is served by %q\n", function)
	os.Exit(1)
}
