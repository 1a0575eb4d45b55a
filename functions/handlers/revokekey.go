package handlers

import (
	"context"
	"net/http"

	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// RevokeKey is DELETE /v1/api-keys/{prefix}.
func RevokeKey(svc *keys.Service) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		if err := svc.Revoke(ctx, r.Principal, r.PathParams["prefix"]); err != nil {
			return lambdahttp.Response{}, err
		}
		return lambdahttp.Response{Status: http.StatusOK, Data: map[string]string{"message": "API key revoked"}}, nil
	}
}
