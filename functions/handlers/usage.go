package handlers

import (
	"context"
	"net/http"
	"strconv"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/principal"
)

// Usage is GET /v1/usage[?days=N][&workspace=<id>].
func Usage(rep *metering.Reporter) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		days := 1
		if s, ok := r.Query["days"]; ok {
			n, ok := decimal(s)
			if !ok || n < 1 || n > metering.MaxHistoryDays {
				return lambdahttp.Response{}, apierr.New(apierr.BadRequest, "Query parameter 'days' must be a whole number from 1 to %d, written in plain digits.", metering.MaxHistoryDays)
			}
			days = n
		}
		var (
			u   metering.Usage
			err error
		)
		ws, scoped := r.Query["workspace"]
		switch {
		case r.Principal.Method == principal.ViaKey && scoped:
			return lambdahttp.Response{}, apierr.New(apierr.Forbidden, "Query parameter 'workspace' needs a signed-in member's token; an API key reports on itself.")
		case r.Principal.Method == principal.ViaKey:
			u, err = rep.ReportKey(ctx, r.Principal, days, r.Quota)
		case scoped:
			o, werr := keys.WorkspaceOwner(r.Principal, ws, nil)
			if werr != nil {
				return lambdahttp.Response{}, werr
			}
			u, err = rep.ReportOwner(ctx, o, days)
		default:
			u, err = rep.ReportOwner(ctx, keys.UserOf(r.Principal), days)
		}
		if err != nil {
			return lambdahttp.Response{}, err
		}
		return lambdahttp.Response{Status: http.StatusOK, Data: u}, nil
	}
}

// decimal reads a plain decimal number: digits only, no sign, no leading
// zero, at most 9 digits.
func decimal(s string) (int, bool) {
	if len(s) == 0 || len(s) > 9 || s[0] == '0' {
		return 0, false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}
