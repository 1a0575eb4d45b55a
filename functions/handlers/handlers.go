// Package handlers holds keygate's route handlers: thin adapters from a
// lambdahttp.Request to one service call and back. Each Lambda in
// functions/<name> serves one of them; local mode serves them all.
package handlers

import (
	"time"

	"github.com/keygate/keygate/shared/keys"
)

// keyView is a key as the API shows it: never the key, never its hash.
type keyView struct {
	Prefix     string      `json:"prefix"`
	Name       string      `json:"name"`
	DailyLimit int         `json:"dailyLimit"`
	Status     keys.Status `json:"status"`
	CreatedAt  time.Time   `json:"createdAt"`
	UpdatedAt  time.Time   `json:"updatedAt"`
	LastUsedAt *time.Time  `json:"lastUsedAt"`
	RevokedAt  *time.Time  `json:"revokedAt,omitempty"`
}

func view(r keys.Record) keyView {
	v := keyView{
		Prefix: r.Prefix, Name: r.Name, DailyLimit: r.DailyLimit, Status: r.Status,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if !r.LastUsedAt.IsZero() {
		t := r.LastUsedAt.UTC()
		v.LastUsedAt = &t
	}
	if !r.RevokedAt.IsZero() {
		t := r.RevokedAt.UTC()
		v.RevokedAt = &t
	}
	return v
}
