// Package api is the example product's API behind keygate: the two routes
// declared in examples/reports, written against keygate's guard package
// alone. Listing is a guard.HandlerFunc, creating a plain net/http handler,
// to show both styles. Reports live in memory, per process and per caller
// (it is an example: a product keeps them in its own store).
package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/keygate/keygate/guard"
)

// Report is one report.
type Report struct {
	ID        string `json:"id"`
	Title     string `json:"title"`
	CreatedAt string `json:"createdAt"` // RFC 3339, UTC
}

// Caller is the principal as the product shows it back: who keygate says is
// calling.
type Caller struct {
	Kind        string   `json:"kind"` // user or key
	Sub         string   `json:"sub"`  // empty for a workspace's key
	Tier        string   `json:"tier"`
	TeamID      string   `json:"teamId,omitempty"`
	KeyPrefix   string   `json:"keyPrefix,omitempty"`
	KeyID       string   `json:"keyId,omitempty"`
	WorkspaceID string   `json:"workspaceId,omitempty"`
	Scopes      []string `json:"scopes"`
}

// CallerOf is p as the API shows it.
func CallerOf(p guard.Principal) Caller {
	return Caller{
		Kind: string(p.Kind), Sub: p.Sub, Tier: p.Tier, TeamID: p.TeamID,
		KeyPrefix: p.KeyPrefix, KeyID: p.KeyID, WorkspaceID: p.WorkspaceID, Scopes: p.Scopes,
	}
}

// CreateReportRequest is POST /v1/reports's body, which is optional.
type CreateReportRequest struct {
	Title *string `json:"title"`
}

// Limits of the example.
const (
	// DefaultTitle names a report created without a title.
	DefaultTitle = "Untitled report"
	// MaxTitle is the longest title, in characters.
	MaxTitle = 200
	// Kept is how many reports each caller keeps; older ones are dropped.
	Kept = 100
)

// reports is the in-memory store: each owner's reports, oldest first.
type reports struct {
	mu      sync.Mutex
	byOwner map[string][]Report
	now     func() time.Time
}

// New is the API's handler for guard.Start: each route with its own
// handler, and an empty store.
func New() guard.Handler {
	s := &reports{byOwner: map[string][]Report{}, now: time.Now}
	return guard.Routes{
		"GET /v1/reports":  guard.HandlerFunc(s.list),
		"POST /v1/reports": guard.HTTP(http.HandlerFunc(s.create)),
	}
}

// list answers GET /v1/reports: the caller's reports.
func (s *reports) list(ctx context.Context, _ *guard.Request) (guard.Response, error) {
	caller, ok := guard.PrincipalFrom(ctx)
	if !ok {
		return guard.Response{}, fmt.Errorf("GET /v1/reports reached without a caller: is the route declared public?")
	}
	s.mu.Lock()
	list := slices.Clone(s.byOwner[caller.Owner()])
	s.mu.Unlock()
	if list == nil {
		list = []Report{}
	}
	return guard.Response{Data: map[string]any{"reports": list, "caller": CallerOf(caller)}}, nil
}

// create answers POST /v1/reports: a new report, titled by the optional
// body.
func (s *reports) create(w http.ResponseWriter, r *http.Request) {
	caller, ok := guard.PrincipalFrom(r.Context())
	if !ok {
		guard.WriteError(w, fmt.Errorf("POST /v1/reports reached without a caller: is the route declared public?"))
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		guard.WriteError(w, fmt.Errorf("read the body: %w", err))
		return
	}
	title := DefaultTitle
	if len(bytes.TrimSpace(body)) > 0 {
		var in CreateReportRequest
		if err := guard.DecodeJSON(body, &in); err != nil {
			guard.WriteError(w, err)
			return
		}
		if in.Title != nil {
			if n := utf8.RuneCountInString(*in.Title); !utf8.ValidString(*in.Title) || n < 1 || n > MaxTitle {
				guard.WriteError(w, guard.Errorf(guard.BadRequest, "Field 'title' must be 1 to %d characters of UTF-8 text.", MaxTitle))
				return
			}
			title = *in.Title
		}
	}
	rep := Report{ID: newID(), Title: title, CreatedAt: s.now().UTC().Truncate(time.Second).Format(time.RFC3339)}
	s.mu.Lock()
	owned := append(s.byOwner[caller.Owner()], rep)
	if len(owned) > Kept {
		owned = slices.Delete(owned, 0, len(owned)-Kept)
	}
	s.byOwner[caller.Owner()] = owned
	s.mu.Unlock()
	guard.WriteData(w, http.StatusCreated, map[string]any{"report": rep, "caller": CallerOf(caller)})
}

// newID is rpt_ and 12 random hex digits.
func newID() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "rpt_" + hex.EncodeToString(b[:])
}
