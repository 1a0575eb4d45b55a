package handlers

import (
	"context"
	"net/http"

	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// Scopes is GET /v1/scopes: the deployment's scopes, from its route table.
// Any valid credential may read it; a key request is checked, not counted.
func Scopes(t route.Table) lambdahttp.Handler {
	body := map[string]any{"scopes": t.Scopes()}
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		return lambdahttp.Response{Status: http.StatusOK, Data: body}, nil
	}
}
