// Package keys is the API-key domain: who owns a key (a user or a workspace),
// the key record and the budget it draws on, the outcomes a lookup can have,
// the rules for names, limits, expiry and rotation, and the service behind
// both management surfaces (/v1 and the workspace API), the authorizer's key
// path, leaked-key reports and the operator's commands. Storage is an
// interface here; shared/dynamo implements it.
package keys

import (
	"context"
	"errors"
	"time"

	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/principal"
)

// OwnerKind says whether a key belongs to a person or to a workspace.
type OwnerKind string

const (
	UserOwned      OwnerKind = "user"
	WorkspaceOwned OwnerKind = "workspace"
)

// Owner is who a key belongs to: a user (by Cognito sub) or a workspace (by
// its custom:teamId). Keys of a workspace outlive the member who made them.
type Owner struct {
	Kind OwnerKind
	ID   string
}

// User is the owner of a personal key; id is the user's owner id
// (principal.Qualify of the issuer and the sub).
func User(id string) Owner { return Owner{Kind: UserOwned, ID: id} }

// UserOf is the signed-in caller as the owner of personal keys.
func UserOf(p principal.Principal) Owner { return User(p.UserID()) }

// Workspace is the owner of a workspace key; id is the workspace's owner id
// (principal.Qualify of the issuer and the team id).
func Workspace(id string) Owner { return Owner{Kind: WorkspaceOwned, ID: id} }

// Local is the owner's id as its issuer wrote it: the sub or the team id,
// without the issuer qualification.
func (o Owner) Local() string {
	_, id := principal.Unqualify(o.ID)
	return id
}

// Status of a key as the API shows it. Only Active and Revoked are stored;
// Expired and Suspended follow from expiresAt and the owner's tier.
type Status string

const (
	Active    Status = "active"
	Revoked   Status = "revoked"
	Expired   Status = "expired"
	Suspended Status = "suspended"
)

// Why a key was revoked.
type RevokedReason string

const (
	ByOwner RevokedReason = "owner"
	Leaked  RevokedReason = "leaked"
	ByAdmin RevokedReason = "admin"
)

// Record is a stored key. It never holds the key itself, only its hash.
type Record struct {
	Prefix    string
	ID        string // UUID v4, the workspace API's keyId
	Hash      apikey.Hash
	Owner     Owner
	CreatedBy string // sub of the user who created it
	// Budget is the id of the daily counter and limit the key draws on: its
	// own id, or for a rotation successor its predecessor's budget.
	Budget string
	Name   string
	// DailyLimit is the limit as last written through this key; the
	// budget's is the one enforced. It lets a 503 still carry the header.
	DailyLimit int
	// Tier and TeamID are what a request made with the key acts as: the
	// owner's tier (kept in step by keygate-admin) and the creator's team.
	Tier          principal.Tier
	TeamID        string
	Status        Status // Active or Revoked as stored
	CreatedAt     time.Time
	UpdatedAt     time.Time
	ExpiresAt     time.Time // zero: never
	RevokedAt     time.Time
	RevokedReason RevokedReason
	// LeakURL is where a leak report said the key was found; LeakedAt when.
	LeakURL  string
	LeakedAt time.Time
	// Rotation links, by prefix and by id.
	RotatedFrom, RotatedFromID string
	RotatedTo, RotatedToID     string
	// LastUsedAt is copied here from the budget when the key stops being live.
	LastUsedAt time.Time
	// Scopes are what the key may call: principal.AllScopes or sorted names
	// joined by one space. Empty (a key made before scopes) is all.
	Scopes string
	// AllowedIPs are the networks the key may be used from, canonical
	// (ParseAllowedIPs); empty is anywhere.
	AllowedIPs string
	// CreatedByEmail is the creating token's email claim, when it had one.
	CreatedByEmail string
}

// ScopeSet is the key's scopes in canonical form, AllScopes when unset.
func (r Record) ScopeSet() string {
	if r.Scopes == "" {
		return principal.AllScopes
	}
	return r.Scopes
}

// Expired reports whether the key is past its expiry at now.
func (r Record) Expired(now time.Time) bool {
	return !r.ExpiresAt.IsZero() && !now.Before(r.ExpiresAt)
}

// Live reports whether the key may still authenticate at now (before the
// budget's suspension and limit are considered).
func (r Record) Live(now time.Time) bool { return r.Status == Active && !r.Expired(now) }

// HoldsSlot reports whether the key counts toward its owner's active-key cap:
// active, not expired, and not a rotated predecessor (a successor takes over
// its predecessor's slot).
func (r Record) HoldsSlot(now time.Time) bool { return r.Live(now) && r.RotatedTo == "" }

// Principal is who a request made with this key acts as.
func (r Record) Principal() principal.Principal {
	p := principal.Principal{
		Tier:       r.Tier,
		TeamID:     r.TeamID,
		Method:     principal.ViaKey,
		KeyPrefix:  r.Prefix,
		KeyID:      r.ID,
		KeyName:    r.Name,
		DailyLimit: r.DailyLimit,
		Budget:     r.Budget,
		CreatedBy:  r.CreatedBy,
		Scopes:     r.ScopeSet(),
		AllowedIPs: r.AllowedIPs,
	}
	tag, id := principal.Unqualify(r.Owner.ID)
	p.IssuerTag = tag
	switch r.Owner.Kind {
	case WorkspaceOwned:
		p.WorkspaceID = id
		p.TeamID = id
	default:
		p.Sub = id
	}
	return p
}

// Budget is the enforcement state of a lineage of keys (a key and its
// rotation successors): the stored daily limit, today's counter, and for each
// live key of the lineage until when it may be used. The meter's one
// conditional write reads nothing else.
type Budget struct {
	ID        string
	Limit     int
	Day       string // the UTC day Used counts
	Used      int
	PrevDay   string // the day before Day that had requests, kept until archived
	PrevUsed  int
	Suspended bool
	// Cap is the highest limit billing's tier allows (0: billing set none);
	// a PATCH may not raise the limit past it.
	Cap int
	// ValidUntil holds, per live key prefix, the first instant it may no
	// longer be used (its expiry or grace end, or NoExpiry); a revoked key
	// has no entry.
	ValidUntil map[string]time.Time
	LastUsed   map[string]time.Time
	// Room is what today's counter may still take (Limit - Used), which the
	// meter's write tests against a route's cost; HasRoom is false on a
	// budget written before costs, which the meter first gives one.
	Room    int
	HasRoom bool
	// Scopes and AllowedIPs hold, per live key prefix, the key's canonical
	// scopes and networks when it has any limit (no entry: all, anywhere).
	Scopes     map[string]string
	AllowedIPs map[string]string
	// LimitNoticed holds, per key prefix, the last UTC day its
	// key.limit_reached was recorded.
	LimitNoticed map[string]string
}

// NoExpiry is the validity of a key that never expires.
var NoExpiry = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)

// UsedOn is the budget's count for day.
func (b Budget) UsedOn(day string) int {
	switch day {
	case b.Day:
		return b.Used
	case b.PrevDay:
		return b.PrevUsed
	}
	return 0
}

// Key is a record with the state of its budget: what the API shows.
type Key struct {
	Record
	Status     Status // computed: active, revoked, expired or suspended
	DailyLimit int
	UsedToday  int
	LastUsedAt time.Time // zero: never used
	State      Budget    // the budget as read
}

// View joins a record and its budget at now.
func View(r Record, b Budget, now time.Time) Key {
	k := Key{Record: r, DailyLimit: b.Limit, Status: r.Status, LastUsedAt: r.LastUsedAt, State: b}
	if t, ok := b.LastUsed[r.Prefix]; ok && t.After(k.LastUsedAt) {
		k.LastUsedAt = t
	}
	switch {
	case r.Status == Revoked:
	case r.Expired(now):
		k.Status = Expired
	case b.Suspended:
		k.Status = Suspended
	default:
		k.Status = Active
	}
	k.UsedToday = b.UsedOn(clock.Day(now))
	return k
}

// OwnerInfo is what keygate stores about an owner: the tier billing last set
// with keygate-admin (empty: never set, the token's claim applies).
type OwnerInfo struct {
	Tier principal.Tier
}

// Typed outcomes of store operations.
var (
	ErrNotFound     = errors.New("key not found")
	ErrPrefixTaken  = errors.New("key prefix already taken")
	ErrSlotsFull    = errors.New("active key slots full")
	ErrRevoked      = errors.New("key revoked")
	ErrExpired      = errors.New("key expired")
	ErrSuspended    = errors.New("key suspended")
	ErrWrongSecret  = errors.New("key secret does not match")
	ErrLimitReached = errors.New("daily limit reached")
	ErrConflict     = errors.New("condition failed")
	// ErrScope: the key's scopes do not include the route's.
	ErrScope = errors.New("route outside the key's scopes")
	// ErrNetwork: the request comes from outside the key's networks.
	ErrNetwork = errors.New("source address outside the key's networks")
)

// KeyChange is a conditional update of a key record. Nil or zero fields are
// left alone.
type KeyChange struct {
	// Conditions. Owner, when set, must own the key; RequireActive needs
	// status active; NotExpiredAt needs no expiry at or before it;
	// NotRotated needs no successor yet; ReplaceRotatedTo needs exactly that
	// successor (re-pointing a claim after a prefix collision).
	Owner            Owner
	RequireActive    bool
	NotExpiredAt     time.Time
	NotRotated       bool
	ReplaceRotatedTo string
	// ExpiresAtWas needs the expiry to be exactly this (zero: none); InBudget
	// needs the key to draw on this budget.
	ExpiresAtWas *time.Time
	InBudget     string

	Name        *string
	DailyLimit  int        // 0 leaves it
	ExpiresAt   *time.Time // a zero time removes the expiry
	Tier        principal.Tier
	TeamID      *string
	Revoke      RevokedReason
	LeakURL     string // with Revoke Leaked, or with Flag
	Flag        bool   // record a leak report (LeakedAt, LeakURL) without revoking
	RotatedTo   string
	RotatedToID string
	LastUsedAt  time.Time
	UpdatedAt   time.Time // zero leaves it
	// Scopes and AllowedIPs replace the key's when non-nil (canonical;
	// AllScopes and "" clear the limit).
	Scopes     *string
	AllowedIPs *string
}

// BudgetChange is a conditional update of a budget.
type BudgetChange struct {
	// Limit sets the daily limit when > 0, only if it is not a raise above
	// Cap nor above the cap billing stored on the budget (lowering is always
	// allowed).
	Limit, Cap int
	// SetCap stores the cap of the tier billing set (tier changes).
	SetCap int
	// MarkRotated records that a key was rotated; RequireNotRotated needs a
	// key not to be (a PATCH of its expiry must not undo a grace period).
	MarkRotated, RequireNotRotated string
	// Valid sets keys' validity; Invalidate removes keys (revocation) and
	// returns their last use. RequireLive names a key whose entry must exist
	// for the change to apply (it was not revoked meanwhile).
	Valid       map[string]time.Time
	Invalidate  []string
	RequireLive string
	// Suspend sets or clears the suspension flag when non-nil.
	Suspend *bool
	// Scopes and AllowedIPs set keys' limits by prefix (canonical;
	// AllScopes and "" remove the limit). Invalidate removes them too.
	Scopes     map[string]string
	AllowedIPs map[string]string
	// LowerTo lowers the limit to this cap when it is above it (tier change).
	LowerTo int
}

// Store persists keys, budgets and owners. Implementations return the typed
// errors above and wrap an unreachable, slow or throttled store in
// apierr.Unavailable.
type Store interface {
	// PutKey stores a new key; ErrPrefixTaken if the prefix exists.
	PutKey(ctx context.Context, r Record) error
	// VoidPrefix makes sure no key is ever stored under prefix (the
	// successor an unfinished rotation claimed): nil once that holds, also
	// when it already did; ErrPrefixTaken if a key was stored there first.
	// A void prefix reads as ErrNotFound and fails every UpdateKey.
	VoidPrefix(ctx context.Context, prefix string, now time.Time) error
	// PutKeyID points a key id at its prefix.
	PutKeyID(ctx context.Context, id, prefix string) error
	// GetKey reads a key by prefix with a strongly consistent read.
	GetKey(ctx context.Context, prefix string) (Record, error)
	// KeyPrefix resolves a key id, strongly consistent; ErrNotFound.
	KeyPrefix(ctx context.Context, id string) (string, error)
	// ListKeys returns the owner's keys, newest first, revoked ones included.
	ListKeys(ctx context.Context, o Owner) ([]Record, error)
	// UpdateKey applies c under its conditions; ErrConflict when they fail.
	UpdateKey(ctx context.Context, prefix string, c KeyChange) (Record, error)

	// PutBudget stores a new budget (overwriting one with the same id).
	PutBudget(ctx context.Context, b Budget) error
	// GetBudgets reads budgets by id, strongly consistent; missing ones are
	// absent from the map.
	GetBudgets(ctx context.Context, ids []string) (map[string]Budget, error)
	// UpdateBudget applies c; ErrConflict when a condition fails. It returns
	// the last use of each invalidated key.
	UpdateBudget(ctx context.Context, id string, c BudgetChange) (map[string]time.Time, error)

	// ReserveSlot takes one of the owner's active-key slots and returns the
	// owner's stored info; ErrSlotsFull.
	ReserveSlot(ctx context.Context, o Owner, max int, now time.Time) (OwnerInfo, error)
	// ReleaseSlot gives a slot back.
	ReleaseSlot(ctx context.Context, o Owner, now time.Time) error
	// Slots reads the owner's slot counter, strongly consistent.
	Slots(ctx context.Context, o Owner) (Slots, error)
	// RepairSlots sets the counter to n only if it is still seen;
	// ErrSlotsFull if it moved meanwhile.
	RepairSlots(ctx context.Context, o Owner, seen Slots, n int, now time.Time) error
	// GetOwner reads what is stored about an owner (zero if nothing).
	GetOwner(ctx context.Context, o Owner) (OwnerInfo, error)
	// SetOwnerTier stores the tier billing set.
	SetOwnerTier(ctx context.Context, o Owner, t principal.Tier, now time.Time) error
}

// Slots is an owner's active-key slot counter.
type Slots struct {
	Used      int
	ChangedAt time.Time
}
