package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// keyView is a key as /v1 shows it: never the key, never its hash.
type keyView struct {
	Prefix        string             `json:"prefix"`
	ID            string             `json:"id"`
	Name          string             `json:"name"`
	DailyLimit    int                `json:"dailyLimit"`
	Status        keys.Status        `json:"status"`
	CreatedAt     time.Time          `json:"createdAt"`
	UpdatedAt     time.Time          `json:"updatedAt"`
	LastUsedAt    *time.Time         `json:"lastUsedAt"`
	ExpiresAt     *time.Time         `json:"expiresAt"`
	RotatedFrom   string             `json:"rotatedFrom,omitempty"`
	RotatedTo     string             `json:"rotatedTo,omitempty"`
	RevokedAt     *time.Time         `json:"revokedAt,omitempty"`
	RevokedReason keys.RevokedReason `json:"revokedReason,omitempty"`
	LeakedAt      *time.Time         `json:"leakedAt,omitempty"`
	LeakedURL     string             `json:"leakedUrl,omitempty"`
}

func view(k keys.Key) keyView {
	return keyView{
		Prefix: k.Prefix, ID: k.ID, Name: k.Name, DailyLimit: k.DailyLimit, Status: k.Status,
		CreatedAt: k.CreatedAt.UTC(), UpdatedAt: k.UpdatedAt.UTC(), LastUsedAt: utc(k.LastUsedAt),
		ExpiresAt: utc(k.ExpiresAt), RotatedFrom: k.RotatedFrom, RotatedTo: k.RotatedTo,
		RevokedAt: utc(k.RevokedAt), RevokedReason: k.RevokedReason, LeakedAt: utc(k.LeakedAt), LeakedURL: k.LeakURL,
	}
}

// createdView is a new key, secret included: the create and rotate answers.
type createdView struct {
	Key         string      `json:"key"`
	Prefix      string      `json:"prefix"`
	ID          string      `json:"id"`
	Name        string      `json:"name"`
	DailyLimit  int         `json:"dailyLimit"`
	Status      keys.Status `json:"status"`
	CreatedAt   time.Time   `json:"createdAt"`
	ExpiresAt   *time.Time  `json:"expiresAt"`
	RotatedFrom string      `json:"rotatedFrom,omitempty"`
}

func created(c keys.Created) createdView {
	k := c.Key
	return createdView{
		Key: c.Secret.String(), Prefix: k.Prefix, ID: k.ID, Name: k.Name, DailyLimit: k.DailyLimit,
		Status: k.Status, CreatedAt: k.CreatedAt.UTC(), ExpiresAt: utc(k.ExpiresAt), RotatedFrom: k.RotatedFrom,
	}
}

// The /v1 request bodies.
type (
	createBody struct {
		Name       *string                     `json:"name"`
		DailyLimit *int                        `json:"dailyLimit"`
		ExpiresAt  lambdahttp.Nullable[string] `json:"expiresAt"`
	}
	updateBody struct {
		Name       *string                     `json:"name"`
		DailyLimit *int                        `json:"dailyLimit"`
		ExpiresAt  lambdahttp.Nullable[string] `json:"expiresAt"`
	}
	rotateBody struct {
		GracePeriodSeconds *int                        `json:"gracePeriodSeconds"`
		ExpiresAt          lambdahttp.Nullable[string] `json:"expiresAt"`
	}
)

// decodeOptional decodes a body that may be left out entirely.
func decodeOptional(body []byte, v any) error {
	if len(body) == 0 {
		return nil
	}
	return lambdahttp.DecodeJSON(body, v)
}

// userOwner is the caller as the owner of personal keys, after the check
// every management route makes first (an API key is 403 whatever it sent).
func userOwner(r *lambdahttp.Request) (keys.Owner, error) {
	if err := keys.RequireUser(r.Principal); err != nil {
		return keys.Owner{}, err
	}
	return keys.User(r.Principal.Sub), nil
}

// CreateKey is POST /v1/api-keys.
func CreateKey(svc *keys.Service) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		o, err := userOwner(r)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		var b createBody
		if err := lambdahttp.DecodeJSON(r.Body, &b); err != nil {
			return lambdahttp.Response{}, err
		}
		c, err := svc.Create(ctx, r.Principal, o, keys.CreateInput{
			Name: b.Name, DailyLimit: b.DailyLimit, ExpiresAt: b.ExpiresAt.Ptr(), Fields: keys.CamelCase,
		})
		if err != nil {
			return lambdahttp.Response{}, err
		}
		return lambdahttp.Response{Status: http.StatusCreated, Data: created(c)}, nil
	}
}

// ListKeys is GET /v1/api-keys[?status=active|revoked|expired|suspended|all].
func ListKeys(svc *keys.Service) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		o, err := userOwner(r)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		f := keys.Filter(keys.Active)
		if s, ok := r.Query["status"]; ok {
			switch keys.Filter(s) {
			case keys.All, keys.Filter(keys.Active), keys.Filter(keys.Revoked), keys.Filter(keys.Expired), keys.Filter(keys.Suspended):
				f = keys.Filter(s)
			default:
				return lambdahttp.Response{}, apierr.New(apierr.BadRequest, "Query parameter 'status' must be active, revoked, expired, suspended or all.")
			}
		}
		list, err := svc.List(ctx, o, f)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		out := make([]keyView, len(list))
		for i, k := range list {
			out[i] = view(k)
		}
		return lambdahttp.Response{Status: http.StatusOK, Data: map[string]any{"keys": out}}, nil
	}
}

// UpdateKey is PATCH /v1/api-keys/{prefix}.
func UpdateKey(svc *keys.Service) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		o, err := userOwner(r)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		var b updateBody
		if err := lambdahttp.DecodeJSON(r.Body, &b); err != nil {
			return lambdahttp.Response{}, err
		}
		k, err := svc.Update(ctx, r.Principal, o, keys.Ref{Prefix: r.PathParams["prefix"]}, keys.UpdateInput{
			Name: b.Name, DailyLimit: b.DailyLimit, ExpiresAt: b.ExpiresAt.Ptr(), ClearExpiry: b.ExpiresAt.Null,
			Fields: keys.CamelCase,
		})
		if err != nil {
			return lambdahttp.Response{}, err
		}
		return lambdahttp.Response{Status: http.StatusOK, Data: view(k)}, nil
	}
}

// RotateKey is POST /v1/api-keys/{prefix}/rotate.
func RotateKey(svc *keys.Service) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		o, err := userOwner(r)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		var b rotateBody
		if err := decodeOptional(r.Body, &b); err != nil {
			return lambdahttp.Response{}, err
		}
		rot, err := svc.Rotate(ctx, r.Principal, o, keys.Ref{Prefix: r.PathParams["prefix"]}, keys.RotateInput{
			GraceSeconds: b.GracePeriodSeconds, ExpiresAt: b.ExpiresAt.Ptr(), Fields: keys.CamelCase,
		})
		if err != nil {
			return lambdahttp.Response{}, err
		}
		return lambdahttp.Response{Status: http.StatusCreated, Data: created(rot.Created)}, nil
	}
}

// RevokeKey is DELETE /v1/api-keys/{prefix}.
func RevokeKey(svc *keys.Service) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		o, err := userOwner(r)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		if err := svc.Revoke(ctx, r.Principal, o, keys.Ref{Prefix: r.PathParams["prefix"]}); err != nil {
			return lambdahttp.Response{}, err
		}
		return lambdahttp.Response{Status: http.StatusOK, Data: map[string]string{"message": "API key revoked"}}, nil
	}
}
