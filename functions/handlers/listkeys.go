package handlers

import (
	"context"
	"net/http"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// ListKeys is GET /v1/api-keys[?status=active|all].
func ListKeys(svc *keys.Service) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		var all bool
		switch r.Query["status"] {
		case "", "active":
		case "all":
			all = true
		default:
			if err := keys.RequireManager(r.Principal); err != nil {
				return lambdahttp.Response{}, err
			}
			return lambdahttp.Response{}, apierr.New(apierr.BadRequest, "Query parameter 'status' must be 'active' or 'all'.")
		}
		recs, err := svc.List(ctx, r.Principal, all)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		out := make([]keyView, len(recs))
		for i, rec := range recs {
			out[i] = view(rec)
		}
		return lambdahttp.Response{Status: http.StatusOK, Data: map[string]any{"keys": out}}, nil
	}
}
