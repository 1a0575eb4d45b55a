package handlers

import (
	"context"
	"net/http"
	"time"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/principal"
)

// auditQuery reads ?limit= (1-100, default 50, plain digits) and ?cursor=.
func auditQuery(r *lambdahttp.Request) (audit.Query, error) {
	q := audit.Query{Limit: audit.DefaultLimit, Cursor: r.Query["cursor"]}
	if s, ok := r.Query["limit"]; ok {
		n, ok := decimal(s)
		if !ok || n < 1 || n > audit.MaxLimit {
			return audit.Query{}, apierr.New(apierr.BadRequest, "Query parameter 'limit' must be a whole number from 1 to %d, written in plain digits.", audit.MaxLimit)
		}
		q.Limit = n
	}
	return q, nil
}

// reader is the owner rule of a log: a signed-in user's token first, refused in the
// log's own words (not key management's) when it is an API key.
func reader(rule ownerRule) ownerRule {
	return func(r *lambdahttp.Request) (keys.Owner, error) {
		if r.Principal.Method != principal.ViaJWT {
			return keys.Owner{}, apierr.New(apierr.Forbidden, "Reading the audit log needs a signed-in user's token, not an API key.")
		}
		return rule(r)
	}
}

// auditPage is the page of o's log the request asks for: the one logic of
// both surfaces, which differ only in the shape of their answer.
func auditPage(ctx context.Context, log *audit.Log, r *lambdahttp.Request, o keys.Owner) (audit.Page, error) {
	q, err := auditQuery(r)
	if err != nil {
		return audit.Page{}, err
	}
	return log.List(ctx, o.Audit(), q)
}

// AuditLog is GET /v1/audit-log: the events of the caller's personal keys,
// newest first (JWT only, any tier).
func AuditLog(log *audit.Log) lambdahttp.Handler {
	return withOwner(reader(userOwner), func(ctx context.Context, r *lambdahttp.Request, o keys.Owner) (lambdahttp.Response, error) {
		page, err := auditPage(ctx, log, r, o)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		events := page.Records
		if events == nil {
			events = []audit.Record{}
		}
		return answer(http.StatusOK, map[string]any{"events": events, "nextCursor": optional(page.Next)}, false, nil)
	})
}

// wsAuditEvent is a record as the workspace surface shows it: bare,
// snake_case, the changed fields by their snake_case names.
type wsAuditEvent struct {
	ID        string                  `json:"id"`
	Time      time.Time               `json:"time"`
	Action    audit.Action            `json:"action"`
	Actor     audit.Actor             `json:"actor"`
	Key       *audit.KeyRef           `json:"key"`
	SourceIP  *string                 `json:"source_ip"`
	UserAgent *string                 `json:"user_agent"`
	Changes   map[string]audit.Change `json:"changes"`
	Reason    string                  `json:"reason,omitempty"`
}

func wsAuditView(r audit.Record) wsAuditEvent {
	changes := make(map[string]audit.Change, len(r.Changes))
	for f, c := range r.Changes {
		if name, ok := audit.SnakeCase[f]; ok {
			changes[name] = c
		}
	}
	return wsAuditEvent{ID: r.ID, Time: r.Time.UTC(), Action: r.Action, Actor: r.Actor, Key: r.Key, SourceIP: r.SourceIP,
		UserAgent: r.UserAgent, Changes: changes, Reason: r.Reason}
}

// WorkspaceAuditLog is GET /api/v1/workspaces/{id}/audit-log: the
// workspace's events for its members, on the same terms as its key routes.
func WorkspaceAuditLog(log *audit.Log) lambdahttp.Handler {
	return withOwner(reader(workspace), func(ctx context.Context, r *lambdahttp.Request, o keys.Owner) (lambdahttp.Response, error) {
		page, err := auditPage(ctx, log, r, o)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		events := make([]wsAuditEvent, len(page.Records))
		for i, rec := range page.Records {
			events[i] = wsAuditView(rec)
		}
		return answer(http.StatusOK, map[string]any{"events": events, "next_cursor": optional(page.Next)}, true, nil)
	})
}
