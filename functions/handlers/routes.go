package handlers

import (
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
