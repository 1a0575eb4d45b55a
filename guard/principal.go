package guard

import (
	"context"
	"slices"

	"github.com/keygate/keygate/shared/principal"
)

// Kind is how the caller authenticated.
type Kind string

const (
	// KindUser is a signed-in user (a Cognito token): never metered, every
	// scope.
	KindUser Kind = "user"
	// KindKey is an API key, personal or a workspace's.
	KindKey Kind = "key"
)

// AllScopes is the one entry of Scopes for a caller that may call every
// route: a signed-in user, or a key that is not limited to some scopes.
const AllScopes = "*"

// Principal is who a request acts as. A personal API key acts as its owner
// (the same Sub, Tier and TeamID as the owner's token) and adds its own
// details; a workspace's key acts as the workspace (no Sub, WorkspaceID set).
type Principal struct {
	Kind Kind
	// Sub is the user (the token's sub claim); empty for a workspace key.
	Sub string
	// Tier is the plan: free, pro, team or enterprise.
	Tier string
	// TeamID is the user's team (the custom:teamId claim); for a workspace
	// key, the workspace.
	TeamID string
	// IssuerTag names the user pool the identity comes from: "" for the
	// deployment's first trusted issuer, else a short stable tag. Two pools
	// may both have a user with the same Sub; Owner tells them apart.
	IssuerTag string
	// Email is the token's email claim when it has one; empty for keys.
	Email string
	// Scopes are the scopes the caller holds, sorted: ["*"] (AllScopes) for
	// a signed-in user and for a key with every scope.
	Scopes []string

	// Set for API keys only.
	KeyPrefix string // the key's public id, csk_live_ and 8 hex digits
	KeyID     string // the key's id (a UUID)
	KeyName   string
	// WorkspaceID is set when the key belongs to a workspace, not a person.
	WorkspaceID string
	// CreatedBy is the sub of the user who created the key.
	CreatedBy string
	// DailyLimit is the key's daily budget in units, as the meter enforced
	// it for this request.
	DailyLimit int
}

// HasScope reports whether the caller holds scope.
func (p Principal) HasScope(scope string) bool {
	return slices.Contains(p.Scopes, AllScopes) || slices.Contains(p.Scopes, scope)
}

// Owner is who the caller acts for, as one string unique across the
// deployment's issuers: the user for a signed-in user or a personal key,
// "workspace:<id>" for a workspace's key. Keep a caller's data under it.
func (p Principal) Owner() string {
	if p.WorkspaceID != "" {
		return "workspace:" + principal.Qualify(p.IssuerTag, p.WorkspaceID)
	}
	return principal.Qualify(p.IssuerTag, p.Sub)
}

type principalKey struct{}

// PrincipalFrom is the caller of the request ctx belongs to; false on a
// public route, which has none, and outside a guarded request.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	if !ok {
		return Principal{}, false
	}
	return *p, true
}

// WithPrincipal returns a context that carries p, as a guarded request's
// does: for tests of a product's handlers.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, &p)
}

// principalOf is the product's view of the principal keygate's authorizer
// decided on.
func principalOf(p principal.Principal) Principal {
	out := Principal{
		Kind: KindUser, Sub: p.Sub, Tier: string(p.Tier), TeamID: p.TeamID,
		IssuerTag: p.IssuerTag, Email: p.Email, Scopes: p.ScopeList(),
	}
	if p.Method == principal.ViaKey {
		out.Kind = KindKey
		out.KeyPrefix, out.KeyID, out.KeyName = p.KeyPrefix, p.KeyID, p.KeyName
		out.WorkspaceID, out.CreatedBy, out.DailyLimit = p.WorkspaceID, p.CreatedBy, p.DailyLimit
	}
	return out
}
