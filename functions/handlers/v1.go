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
	Scopes        []string           `json:"scopes"`
	AllowedIPs    []string           `json:"allowedIps"`
}

func view(k keys.Key) keyView {
	return keyView{
		Prefix: k.Prefix, ID: k.ID, Name: k.Name, DailyLimit: k.DailyLimit, Status: k.Status,
		CreatedAt: k.CreatedAt.UTC(), UpdatedAt: k.UpdatedAt.UTC(), LastUsedAt: utc(k.LastUsedAt),
		ExpiresAt: utc(k.ExpiresAt), RotatedFrom: k.RotatedFrom, RotatedTo: k.RotatedTo,
		RevokedAt: utc(k.RevokedAt), RevokedReason: k.RevokedReason, LeakedAt: utc(k.LeakedAt), LeakedURL: k.LeakURL,
		Scopes: keys.ScopeList(k.Scopes), AllowedIPs: keys.AllowedIPList(k.AllowedIPs),
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
	Scopes      []string    `json:"scopes"`
	AllowedIPs  []string    `json:"allowedIps"`
}

func created(c keys.Created) createdView {
	k := c.Key
	return createdView{
		Key: c.Secret.String(), Prefix: k.Prefix, ID: k.ID, Name: k.Name, DailyLimit: k.DailyLimit,
		Status: k.Status, CreatedAt: k.CreatedAt.UTC(), ExpiresAt: utc(k.ExpiresAt), RotatedFrom: k.RotatedFrom,
		Scopes: keys.ScopeList(k.Scopes), AllowedIPs: keys.AllowedIPList(k.AllowedIPs),
	}
}

// The /v1 request bodies.
type (
	createBody struct {
		Name       *string                     `json:"name"`
		DailyLimit *int                        `json:"dailyLimit"`
		ExpiresAt  lambdahttp.Nullable[string] `json:"expiresAt"`
		access
	}
	updateBody struct {
		Name       *string                     `json:"name"`
		DailyLimit *int                        `json:"dailyLimit"`
		ExpiresAt  lambdahttp.Nullable[string] `json:"expiresAt"`
		access
	}
	rotateBody struct {
		GracePeriodSeconds *int                        `json:"gracePeriodSeconds"`
		ExpiresAt          lambdahttp.Nullable[string] `json:"expiresAt"`
		access
	}
	// access is where a key may be used, as /v1 spells it.
	access struct {
		Scopes     *[]string `json:"scopes"`
		AllowedIPs *[]string `json:"allowedIps"`
	}
)

func (a access) keys() keys.Access { return keys.Access{Scopes: a.Scopes, AllowedIPs: a.AllowedIPs} }

type ()

// userOwner is the caller as the owner of personal keys.
func userOwner(r *lambdahttp.Request) (keys.Owner, error) {
	if err := keys.RequireUser(r.Principal); err != nil {
		return keys.Owner{}, err
	}
	return keys.UserOf(r.Principal), nil
}

func byPrefix(r *lambdahttp.Request) keys.Ref { return keys.Ref{Prefix: r.PathParams["prefix"]} }

// CreateKey is POST /v1/api-keys.
func CreateKey(svc *keys.Service) lambdahttp.Handler {
	return withBody(userOwner, false, func(ctx context.Context, r *lambdahttp.Request, o keys.Owner, b *createBody) (lambdahttp.Response, error) {
		c, err := svc.Create(ctx, r.Principal, o, keys.CreateInput{
			Name: b.Name, DailyLimit: b.DailyLimit, ExpiresAt: b.ExpiresAt.Ptr(), Access: b.keys(), Fields: keys.CamelCase,
		})
		return answer(http.StatusCreated, created(c), false, err)
	})
}

// ListKeys is GET /v1/api-keys[?status=active|all].
func ListKeys(svc *keys.Service) lambdahttp.Handler {
	return withOwner(userOwner, func(ctx context.Context, r *lambdahttp.Request, o keys.Owner) (lambdahttp.Response, error) {
		f := keys.Filter(keys.Active)
		if s, ok := r.Query["status"]; ok {
			switch keys.Filter(s) {
			case keys.All, keys.Filter(keys.Active):
				f = keys.Filter(s)
			default:
				return lambdahttp.Response{}, apierr.New(apierr.BadRequest, "Query parameter 'status' must be active (the default) or all.")
			}
		}
		list, err := svc.List(ctx, o, f)
		out := make([]keyView, len(list))
		for i, k := range list {
			out[i] = view(k)
		}
		return answer(http.StatusOK, map[string]any{"keys": out}, false, err)
	})
}

// UpdateKey is PATCH /v1/api-keys/{prefix}.
func UpdateKey(svc *keys.Service) lambdahttp.Handler {
	return withBody(userOwner, false, func(ctx context.Context, r *lambdahttp.Request, o keys.Owner, b *updateBody) (lambdahttp.Response, error) {
		k, err := svc.Update(ctx, r.Principal, o, byPrefix(r), keys.UpdateInput{
			Name: b.Name, DailyLimit: b.DailyLimit, ExpiresAt: b.ExpiresAt.Ptr(), ClearExpiry: b.ExpiresAt.Null,
			Access: b.keys(), Fields: keys.CamelCase,
		})
		return answer(http.StatusOK, view(k), false, err)
	})
}

// RotateKey is POST /v1/api-keys/{prefix}/rotate; the body is optional.
func RotateKey(svc *keys.Service) lambdahttp.Handler {
	return withBody(userOwner, true, func(ctx context.Context, r *lambdahttp.Request, o keys.Owner, b *rotateBody) (lambdahttp.Response, error) {
		rot, err := svc.Rotate(ctx, r.Principal, o, byPrefix(r), keys.RotateInput{
			GraceSeconds: b.GracePeriodSeconds, ExpiresAt: b.ExpiresAt.Ptr(), Access: b.keys(), Fields: keys.CamelCase,
		})
		return answer(http.StatusCreated, created(rot.Created), false, err)
	})
}

// RevokeKey is DELETE /v1/api-keys/{prefix}.
func RevokeKey(svc *keys.Service) lambdahttp.Handler {
	return withOwner(userOwner, func(ctx context.Context, r *lambdahttp.Request, o keys.Owner) (lambdahttp.Response, error) {
		err := svc.Revoke(ctx, r.Principal, o, byPrefix(r))
		return answer(http.StatusOK, map[string]string{"message": "API key revoked"}, false, err)
	})
}
