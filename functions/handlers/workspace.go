package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// wsKeyView is a key as the workspace API shows it: the seed's object field
// for field (bare, snake_case), then keygate's own fields after updated_at.
type wsKeyView struct {
	ID            string             `json:"id"`
	WorkspaceID   string             `json:"workspace_id"`
	Name          string             `json:"name"`
	Key           string             `json:"key,omitempty"` // create and rotate only
	KeyPrefix     string             `json:"key_prefix"`
	Status        keys.Status        `json:"status"`
	CreatedBy     string             `json:"created_by"`
	CreatedAt     time.Time          `json:"created_at"`
	UpdatedAt     time.Time          `json:"updated_at"`
	DailyLimit    int                `json:"daily_limit"`
	LastUsedAt    *time.Time         `json:"last_used_at"`
	ExpiresAt     *time.Time         `json:"expires_at"`
	RevokedAt     *time.Time         `json:"revoked_at,omitempty"`
	RevokedReason keys.RevokedReason `json:"revoked_reason,omitempty"`
	LeakedURL     string             `json:"leaked_url,omitempty"`
	RotatedFrom   string             `json:"rotated_from,omitempty"`
	RotatedTo     string             `json:"rotated_to,omitempty"`
	Scopes        []string           `json:"scopes"`
	AllowedIPs    []string           `json:"allowed_ips"`
	// CreatedByEmail is the creating token's email, when it carried one.
	CreatedByEmail *string `json:"created_by_email"`
}

func wsView(k keys.Key) wsKeyView {
	return wsKeyView{
		ID: k.ID, WorkspaceID: k.Owner.Local(), Name: k.Name, KeyPrefix: k.Prefix, Status: k.Status, CreatedBy: k.CreatedBy,
		CreatedAt: k.CreatedAt.UTC(), UpdatedAt: k.UpdatedAt.UTC(), DailyLimit: k.DailyLimit,
		LastUsedAt: utc(k.LastUsedAt), ExpiresAt: utc(k.ExpiresAt), RevokedAt: utc(k.RevokedAt),
		RevokedReason: k.RevokedReason, LeakedURL: k.LeakURL, RotatedFrom: k.RotatedFromID, RotatedTo: k.RotatedToID,
		Scopes: keys.ScopeList(k.Scopes), AllowedIPs: keys.AllowedIPList(k.AllowedIPs), CreatedByEmail: optional(k.CreatedByEmail),
	}
}

func wsCreated(c keys.Created) wsKeyView {
	v := wsView(c.Key)
	v.Key = c.Secret.String()
	return v
}

// The workspace API's request bodies.
type (
	wsCreateBody struct {
		Name       *string                     `json:"name"`
		DailyLimit *int                        `json:"daily_limit"`
		ExpiresAt  lambdahttp.Nullable[string] `json:"expires_at"`
		wsAccess
	}
	wsRotateBody struct {
		GracePeriodSeconds *int                        `json:"grace_period_seconds"`
		ExpiresAt          lambdahttp.Nullable[string] `json:"expires_at"`
		wsAccess
	}
	// wsAccess is where a key may be used, as the workspace API spells it.
	wsAccess struct {
		Scopes     *[]string `json:"scopes"`
		AllowedIPs *[]string `json:"allowed_ips"`
	}
)

func (a wsAccess) keys() keys.Access { return keys.Access{Scopes: a.Scopes, AllowedIPs: a.AllowedIPs} }

// optional is nil for an empty string.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// workspace checks the caller's membership of the path's workspace (and the
// optional X-Workspace-ID header) before anything else is read.
func workspace(r *lambdahttp.Request) (keys.Owner, error) {
	var header *string
	if v, ok := r.Header("X-Workspace-ID"); ok {
		header = &v
	}
	return keys.WorkspaceOwner(r.Principal, r.PathParams["id"], header)
}

func byID(r *lambdahttp.Request) keys.Ref { return keys.Ref{ID: r.PathParams["keyId"]} }

// WorkspaceListKeys is GET /api/v1/workspaces/{id}/api-keys: every key of the
// workspace, newest first, whatever its status.
func WorkspaceListKeys(svc *keys.Service) lambdahttp.Handler {
	return withOwner(workspace, func(ctx context.Context, r *lambdahttp.Request, o keys.Owner) (lambdahttp.Response, error) {
		list, err := svc.List(ctx, o, keys.All)
		out := make([]wsKeyView, len(list))
		for i, k := range list {
			out[i] = wsView(k)
		}
		return answer(http.StatusOK, out, true, err)
	})
}

// WorkspaceCreateKey is POST /api/v1/workspaces/{id}/api-keys.
func WorkspaceCreateKey(svc *keys.Service) lambdahttp.Handler {
	return withBody(workspace, false, func(ctx context.Context, r *lambdahttp.Request, o keys.Owner, b *wsCreateBody) (lambdahttp.Response, error) {
		c, err := svc.Create(ctx, r.Principal, o, keys.CreateInput{
			Name: b.Name, DailyLimit: b.DailyLimit, ExpiresAt: b.ExpiresAt.Ptr(), Access: b.keys(), Fields: keys.SnakeCase,
		})
		return answer(http.StatusCreated, wsCreated(c), true, err)
	})
}

// WorkspaceRevokeKey is DELETE /api/v1/workspaces/{id}/api-keys/{keyId}.
func WorkspaceRevokeKey(svc *keys.Service) lambdahttp.Handler {
	return withOwner(workspace, func(ctx context.Context, r *lambdahttp.Request, o keys.Owner) (lambdahttp.Response, error) {
		err := svc.Revoke(ctx, r.Principal, o, byID(r))
		return answer(http.StatusOK, map[string]string{"status": "revoked"}, true, err)
	})
}

// WorkspaceRotateKey is POST /api/v1/workspaces/{id}/api-keys/{keyId}/rotate;
// the body is optional.
func WorkspaceRotateKey(svc *keys.Service) lambdahttp.Handler {
	return withBody(workspace, true, func(ctx context.Context, r *lambdahttp.Request, o keys.Owner, b *wsRotateBody) (lambdahttp.Response, error) {
		rot, err := svc.Rotate(ctx, r.Principal, o, byID(r), keys.RotateInput{
			GraceSeconds: b.GracePeriodSeconds, ExpiresAt: b.ExpiresAt.Ptr(), Access: b.keys(), Fields: keys.SnakeCase,
		})
		return answer(http.StatusCreated, wsCreated(rot.Created), true, err)
	})
}
