package handlers

import (
	"context"
	"net/http"

	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// UpdateKey is PATCH /v1/api-keys/{prefix}.
func UpdateKey(svc *keys.Service) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		if err := keys.RequireManager(r.Principal); err != nil {
			return lambdahttp.Response{}, err
		}
		var in keys.UpdateInput
		if err := lambdahttp.DecodeJSON(r.Body, &in); err != nil {
			return lambdahttp.Response{}, err
		}
		rec, err := svc.Update(ctx, r.Principal, r.PathParams["prefix"], in)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		return lambdahttp.Response{Status: http.StatusOK, Data: view(rec)}, nil
	}
}
