package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
)

type createdView struct {
	Key        string      `json:"key"`
	Prefix     string      `json:"prefix"`
	Name       string      `json:"name"`
	DailyLimit int         `json:"dailyLimit"`
	Status     keys.Status `json:"status"`
	CreatedAt  time.Time   `json:"createdAt"`
}

// CreateKey is POST /v1/api-keys.
func CreateKey(svc *keys.Service) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		if err := keys.RequireManager(r.Principal); err != nil {
			return lambdahttp.Response{}, err
		}
		var in keys.CreateInput
		if err := lambdahttp.DecodeJSON(r.Body, &in); err != nil {
			return lambdahttp.Response{}, err
		}
		c, err := svc.Create(ctx, r.Principal, in)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		return lambdahttp.Response{Status: http.StatusCreated, Data: createdView{
			Key: c.Key.String(), Prefix: c.Record.Prefix, Name: c.Record.Name, DailyLimit: c.Record.DailyLimit,
			Status: c.Record.Status, CreatedAt: c.Record.CreatedAt.UTC(),
		}}, nil
	}
}
