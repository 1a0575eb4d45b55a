// Package audit is keygate's audit log: a record of every change to a key or
// an owner (who, what, when, from where), kept per owner, newest first, for
// GET /v1/audit-log, the workspace's log and keygate-admin, and published as
// events. A record never holds a key, a token or a hash.
//
// A change that committed always gets its record, even if the process dies
// right after the change, without transactions (dynalite has none): the
// caller writes an intent first (Begin), makes its change, then finalizes the
// record (Pending.Commit), or withdraws it when the change certainly did not
// happen (Pending.Abort). An intent still pending once no request can still
// be running (Log.Settle) is resolved against the current state of the key,
// budget or owner by a Verifier: committed fields are kept, an intent whose
// change never landed is dropped. The reader resolves the intents it meets
// and a scheduled sweep (Log.Sweep) finds the rest through an index, never a
// scan. Storage is an interface here; shared/dynamo implements it.
package audit

import (
	"context"
	"encoding/json"
	"net/netip"
	"regexp"
	"time"
)

// Action is what happened, the contract's list; it is also the event's
// detail-type.
type Action string

const (
	KeyCreated     Action = "key.created"
	KeyUpdated     Action = "key.updated"
	KeyRotated     Action = "key.rotated" // on the old key; the successor has its own key.created
	KeyRevoked     Action = "key.revoked" // with Reason
	KeyLeaked      Action = "key.leaked"  // actor github; also key.revoked (reason leaked) when it revoked
	KeySuspended   Action = "key.suspended"
	KeyReactivated Action = "key.reactivated"
	TierChanged    Action = "owner.tier_changed"
	LimitReached   Action = "key.limit_reached" // actor system, the first 429 of a UTC day
	KeyExpiring    Action = "key.expiring"      // actor system, once per expiry, 7 days ahead
)

// Actions are every action, in the contract's order.
var Actions = []Action{KeyCreated, KeyUpdated, KeyRotated, KeyRevoked, KeyLeaked, KeySuspended, KeyReactivated,
	TierChanged, LimitReached, KeyExpiring}

// Valid reports whether a is one of Actions.
func (a Action) Valid() bool {
	for _, v := range Actions {
		if v == a {
			return true
		}
	}
	return false
}

// ActorType says who made a change.
type ActorType string

const (
	ByUser   ActorType = "user"   // a signed-in user; ID is the sub
	ByAdmin  ActorType = "admin"  // keygate-admin; ID is the operator when known
	ByGitHub ActorType = "github" // a secret scanning report
	BySystem ActorType = "system" // keygate itself (limits, expiry)
)

// Actor is who made a change. ID is null in JSON when empty.
type Actor struct {
	Type ActorType `json:"type"`
	ID   *string   `json:"id"`
}

// User is a signed-in user as an actor.
func User(sub string) Actor { return Actor{Type: ByUser, ID: optional(sub)} }

// Admin is an operator's command; id names the operator ("" unknown).
func Admin(id string) Actor { return Actor{Type: ByAdmin, ID: optional(id)} }

// GitHub is GitHub's secret scanning.
func GitHub() Actor { return Actor{Type: ByGitHub} }

// System is keygate itself.
func System() Actor { return Actor{Type: BySystem} }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// KeyRef names the key a record is about, as it was at the time: its public
// prefix, its id and its name. Never the key or its hash.
type KeyRef struct {
	Prefix string `json:"prefix"`
	ID     string `json:"id"`
	Name   string `json:"name"`
}

// Change is one field's value before and after (JSON values: a string, a
// number, a list of strings, or null).
type Change struct {
	From any `json:"from"`
	To   any `json:"to"`
}

// Changes are the changed fields of the key object (or the owner), by their
// /v1 names.
type Changes map[string]Change

// Field names a change may carry: the key object's fields, and the owner's
// tier.
const (
	FieldName        = "name"
	FieldDailyLimit  = "dailyLimit"
	FieldExpiresAt   = "expiresAt"
	FieldScopes      = "scopes"
	FieldAllowedIPs  = "allowedIps"
	FieldStatus      = "status"
	FieldRotatedTo   = "rotatedTo"
	FieldRotatedFrom = "rotatedFrom"
	FieldLeakedURL   = "leakedUrl"
	FieldTier        = "tier"
)

// Fields are the names a change may carry; anything else is dropped from a
// record (so nothing a caller did not mean to publish reaches the log).
var Fields = []string{FieldName, FieldDailyLimit, FieldExpiresAt, FieldScopes, FieldAllowedIPs, FieldStatus,
	FieldRotatedTo, FieldRotatedFrom, FieldLeakedURL, FieldTier}

// SnakeCase is each field's name on the workspace surface.
var SnakeCase = map[string]string{
	FieldName: "name", FieldDailyLimit: "daily_limit", FieldExpiresAt: "expires_at", FieldScopes: "scopes",
	FieldAllowedIPs: "allowed_ips", FieldStatus: "status", FieldRotatedTo: "rotated_to",
	FieldRotatedFrom: "rotated_from", FieldLeakedURL: "leaked_url", FieldTier: "tier",
}

// Time renders an optional instant as a change value: RFC 3339 UTC, or nil
// (JSON null) when zero.
func Time(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

// Record is one entry of the log, as the contract shows it (/v1 spelling).
type Record struct {
	ID        string    `json:"id"`
	Time      time.Time `json:"time"`
	Action    Action    `json:"action"`
	Actor     Actor     `json:"actor"`
	Key       *KeyRef   `json:"key"` // nil for owner.tier_changed
	SourceIP  *string   `json:"sourceIp"`
	UserAgent *string   `json:"userAgent"`
	Changes   Changes   `json:"changes"`
	Reason    string    `json:"reason,omitempty"` // key.revoked: owner, leaked or admin
	// Owner is whose log holds the record; the API's log is per owner, so
	// it shows it only in events.
	Owner Owner `json:"-"`
}

// Owner is whose log a record belongs to: a user or a workspace, by its
// owner id as keygate stores it (issuer-qualified, see principal.Qualify).
type Owner struct {
	Kind string `json:"type"` // "user" or "workspace"
	ID   string `json:"id"`
}

// Evidence is what a Verifier reads to tell whether an intent's change
// committed. It is stored with the intent and never shown.
type Evidence struct {
	// Budget is the key's budget (daily limit, suspension, limit notice).
	Budget string `json:"budget,omitempty"`
	// Successor is a rotation's successor key id: the rotation committed
	// when that key exists.
	Successor string `json:"successor,omitempty"`
	// Day is the UTC day of a key.limit_reached notice.
	Day string `json:"day,omitempty"`
	// ExpiresAt is the expiry a key.expiring notice is about.
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// Event is a change about to be made, as Begin takes it.
type Event struct {
	Action  Action
	Owner   Owner
	Key     *KeyRef
	Changes Changes
	Reason  string
	// Actor, when set, overrides the context's (WithActor); with neither,
	// the actor is System.
	Actor    *Actor
	Evidence Evidence
}

// Context carries who is acting and from where, so the key service records
// them without taking them as arguments: the request adapter puts the user
// and the source address in, keygate-admin its operator, the secret
// scanning route GitHub.
type ctxKey int

const (
	actorKey ctxKey = iota
	sourceKey
)

// Source is where a request came from.
type Source struct {
	IP        netip.Addr
	UserAgent string
}

// WithActor returns ctx carrying the actor of the changes made under it.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, actorKey, a)
}

// WithSource returns ctx carrying the request's source address and user
// agent.
func WithSource(ctx context.Context, s Source) context.Context {
	return context.WithValue(ctx, sourceKey, s)
}

// ActorFrom is the context's actor, System when none.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(actorKey).(Actor); ok {
		return a
	}
	return System()
}

// SourceFrom is the context's source (zero when none).
func SourceFrom(ctx context.Context) Source {
	s, _ := ctx.Value(sourceKey).(Source)
	return s
}

// maxUserAgent bounds what a record keeps of a user agent.
const maxUserAgent = 256

// keyPattern finds anything shaped like a keygate key (csk_ and 32 hex after
// the live_ part) or a bare SHA-256 hex digest, which a record must never
// hold even when a user typed one into a key's name.
var keyPattern = regexp.MustCompile(`csk_[a-z]+_[0-9a-fA-F]{32}|\b[0-9a-fA-F]{64}\b`)

// redact replaces anything shaped like a key or a hash in s.
func redact(s string) string {
	if !keyPattern.MatchString(s) {
		return s
	}
	return keyPattern.ReplaceAllStringFunc(s, func(m string) string {
		if len(m) > 17 && m[:4] == "csk_" {
			return m[:17] + "…(redacted)"
		}
		return "(redacted)"
	})
}

// sanitize keeps only known fields and redacts every string a record holds.
func sanitize(r *Record) {
	if r.Key != nil {
		k := *r.Key
		k.Name = redact(k.Name)
		r.Key = &k
	}
	if r.UserAgent != nil {
		ua := redact(*r.UserAgent)
		if len(ua) > maxUserAgent {
			ua = ua[:maxUserAgent]
		}
		r.UserAgent = &ua
	}
	out := Changes{}
	for _, f := range Fields {
		if c, ok := r.Changes[f]; ok {
			out[f] = Change{From: redactValue(c.From), To: redactValue(c.To)}
		}
	}
	r.Changes = out
}

func redactValue(v any) any {
	switch x := v.(type) {
	case string:
		return redact(x)
	case []string:
		out := make([]string, len(x))
		for i, s := range x {
			out[i] = redact(s)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, s := range x {
			out[i] = redactValue(s)
		}
		return out
	}
	return v
}

// Same reports whether two change values are equal as JSON (a stored 250 and
// an int 250, a []string and a []any of the same strings).
func Same(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}
