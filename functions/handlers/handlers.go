// Package handlers holds keygate's route handlers: thin adapters from a
// lambdahttp.Request to one service call and back. There are two surfaces
// over the same key service: /v1 (the envelope, camelCase; v1.go) and the
// workspace API of the second seed (bare JSON, snake_case; workspace.go).
// Each only maps its own shapes and field spellings; every rule lives in
// shared/keys. Each Lambda in functions/<name> serves one handler; local mode
// serves them all.
package handlers

import (
	"context"
	"time"

	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// ownerRule is a surface's rule for whose keys a request manages: the caller
// (/v1) or the path's workspace. It runs first: an API key is refused, and a
// non-member turned away, before a body is read.
type ownerRule func(r *lambdahttp.Request) (keys.Owner, error)

// withBody is a route that takes a JSON body, decoded strictly into B after
// the owner rule; with optional, an empty body is an empty B.
func withBody[B any](rule ownerRule, optional bool,
	run func(ctx context.Context, r *lambdahttp.Request, o keys.Owner, b *B) (lambdahttp.Response, error)) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		o, err := rule(r)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		var b B
		if !optional || len(r.Body) > 0 {
			if err := lambdahttp.DecodeJSON(r.Body, &b); err != nil {
				return lambdahttp.Response{}, err
			}
		}
		return run(ctx, r, o, &b)
	}
}

// withOwner is a route without a body (one sent is ignored).
func withOwner(rule ownerRule, run func(ctx context.Context, r *lambdahttp.Request, o keys.Owner) (lambdahttp.Response, error)) lambdahttp.Handler {
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		o, err := rule(r)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		return run(ctx, r, o)
	}
}

// answer is a success, or the error.
func answer(status int, data any, bare bool, err error) (lambdahttp.Response, error) {
	if err != nil {
		return lambdahttp.Response{}, err
	}
	return lambdahttp.Response{Status: status, Data: data, Bare: bare}, nil
}

// utc renders an optional time: nil when zero.
func utc(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
