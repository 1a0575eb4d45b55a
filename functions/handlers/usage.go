package handlers

import (
	"context"
	"net/http"
	"strconv"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/metering"
)

// Usage is GET /v1/usage[?days=N].
func Usage(rep *metering.Reporter) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		days := 1
		if s, ok := r.Query["days"]; ok {
			n, err := strconv.Atoi(s)
			if err != nil || n < 1 || n > metering.MaxHistoryDays {
				return lambdahttp.Response{}, apierr.New(apierr.BadRequest, "Query parameter 'days' must be an integer from 1 to %d.", metering.MaxHistoryDays)
			}
			days = n
		}
		u, err := rep.Report(ctx, r.Principal, days, r.Quota)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		return lambdahttp.Response{Status: http.StatusOK, Data: u}, nil
	}
}
