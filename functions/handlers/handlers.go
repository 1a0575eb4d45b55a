// Package handlers holds keygate's route handlers: thin adapters from a
// lambdahttp.Request to one service call and back. There are two surfaces
// over the same key service: /v1 (the envelope, camelCase; v1.go) and the
// workspace API of the second seed (bare JSON, snake_case; workspace.go).
// Each only maps its own shapes and field spellings; every rule lives in
// shared/keys. Each Lambda in functions/<name> serves one handler; local mode
// serves them all.
package handlers

import (
	"time"
)

// utc renders an optional time: nil when zero.
func utc(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}
