package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/principal"
)

// This file is the key domain's side of the audit log (shared/audit): the
// owner and key as a record names them, the changes of each action, the
// verifier that resolves an intent left pending by a request that died after
// its change, and the two notices keygate sends itself (key.limit_reached,
// key.expiring).
//
// The service brackets each change with the log (Service.Audit, a
// *audit.Log): Begin right before the change's first write (a Begin that
// fails is the request's 503, and nothing is written), then Commit after its
// commit point, or Abort when no write of it landed (a refused condition).
// After the first write landed, an error calls neither: the intent is
// resolved from the state once due. Who acts and from where come from the
// context (audit.WithActor, audit.WithSource: the route adapter, the secret
// scanning route, keygate-admin). Per action:
//
//	Create     Begin(KeyCreated, Key{ID, Name}, CreatedChanges) before issue; CommitKey(AuditKey(r)) after PutKey
//	Update     Begin(KeyUpdated, AuditKey(r), UpdateChanges(r, limit, change), Evidence{Budget}) before setLimit
//	Rotate     BeginAll(KeyRotated {expiresAt, rotatedTo} Evidence{Successor: succ.ID}, KeyCreated of succ) before the claim
//	revoke     Begin(KeyRevoked, Reason why, {status: active→revoked}) before the budget write
//	ReportLeak Begin(KeyLeaked, {leakedUrl}) before revoke (which records key.revoked, reason leaked) or the flag
//	SetTier    Begin(TierChanged, {tier}) before SetOwnerTier; per budget changed, for each of its live keys,
//	           Begin(KeySuspended | KeyReactivated, Evidence{Budget}) and key.updated {dailyLimit} for a lowered one
//	Meter      LimitNotices.Reached on a 429 whose refusal read shows no ln_<prefix> mark for the day

// Audit is the owner as the audit log names it.
func (o Owner) Audit() audit.Owner { return audit.Owner{Kind: string(o.Kind), ID: o.ID} }

// ownerOfAudit is the owner an audit record belongs to.
func ownerOfAudit(o audit.Owner) Owner { return Owner{Kind: OwnerKind(o.Kind), ID: o.ID} }

// OwnerOf is the owner of the key a key principal acts with.
func OwnerOf(p principal.Principal) Owner {
	if p.WorkspaceID != "" {
		return Workspace(principal.Qualify(p.IssuerTag, p.WorkspaceID))
	}
	return User(p.UserID())
}

// AuditKey is the key as a record names it.
func AuditKey(r Record) *audit.KeyRef {
	return &audit.KeyRef{Prefix: r.Prefix, ID: r.ID, Name: r.Name}
}

// auditFields are a key's audited fields as the key object shows them; limit
// is its budget's daily limit.
func auditFields(r Record, limit int) map[string]any {
	return map[string]any{
		audit.FieldName:       r.Name,
		audit.FieldDailyLimit: limit,
		audit.FieldExpiresAt:  audit.Time(r.ExpiresAt),
		audit.FieldScopes:     ScopeList(r.ScopeSet()),
		audit.FieldAllowedIPs: AllowedIPList(r.AllowedIPs),
	}
}

// CreatedChanges are a new key's fields, each from null: the changes of its
// key.created (a rotation's successor also names its predecessor).
func CreatedChanges(r Record, limit int) audit.Changes {
	out := audit.Changes{audit.FieldStatus: {From: nil, To: string(Active)}}
	for f, v := range auditFields(r, limit) {
		if v != nil {
			out[f] = audit.Change{From: nil, To: v}
		}
	}
	if r.RotatedFrom != "" {
		out[audit.FieldRotatedFrom] = audit.Change{From: nil, To: r.RotatedFrom}
	}
	return out
}

// UpdateChanges are the fields c changes on r (whose budget's limit is
// limit), from and to: the changes of a key.updated. Fields c sets to the
// value they had are left out; empty means the PATCH changes nothing.
func UpdateChanges(r Record, limit int, c KeyChange) audit.Changes {
	after, newLimit := r, limit
	if c.Name != nil {
		after.Name = *c.Name
	}
	if c.DailyLimit > 0 {
		newLimit = c.DailyLimit
	}
	if c.ExpiresAt != nil {
		after.ExpiresAt = *c.ExpiresAt
	}
	if c.Scopes != nil {
		after.Scopes = *c.Scopes
	}
	if c.AllowedIPs != nil {
		after.AllowedIPs = *c.AllowedIPs
	}
	return Diff(auditFields(r, limit), auditFields(after, newLimit))
}

// Diff is every field whose value differs between before and after.
func Diff(before, after map[string]any) audit.Changes {
	out := audit.Changes{}
	for f, to := range after {
		if from := before[f]; !audit.Same(from, to) {
			out[f] = audit.Change{From: from, To: to}
		}
	}
	return out
}

// AuditState is what the verifier reads: the key, its id pointer, its
// budget, its owner and the notice markers (shared/dynamo implements it,
// each with one strongly consistent GetItem).
type AuditState interface {
	GetKey(ctx context.Context, prefix string) (Record, error)
	KeyPrefix(ctx context.Context, id string) (string, error)
	GetOwner(ctx context.Context, o Owner) (OwnerInfo, error)
	ReadBudget(ctx context.Context, id string) (Budget, bool, error)
	LimitNoticed(ctx context.Context, budget, prefix string) (string, error)
	ExpiryNoticed(ctx context.Context, prefix string) (time.Time, error)
}

// AuditVerifier resolves an intent against the current state, action by
// action. What committed is decided by what only the change could have
// written: the key a create or rotation wrote (by its fresh random id), a
// revocation or leak mark at or after the intent, a field now holding the
// value the intent set, the owner's tier, a notice marker of that day or
// expiry. A field changed again by a later request before the intent is
// resolved (minutes at most) reads as not committed; that later change has
// its own record, which shows the value this one set as its "from".
type AuditVerifier struct {
	State AuditState
}

var _ audit.Verifier = AuditVerifier{}

// Verify implements audit.Verifier.
func (v AuditVerifier) Verify(ctx context.Context, r audit.Record, e audit.Evidence) (audit.Resolution, error) {
	no := audit.Resolution{}
	yes := audit.Resolution{Committed: true}
	var key Record
	if r.Key != nil && r.Key.Prefix != "" {
		var err error
		key, err = v.State.GetKey(ctx, r.Key.Prefix)
		if errors.Is(err, ErrNotFound) && r.Action != audit.KeyCreated {
			return no, nil
		}
		if err != nil && !errors.Is(err, ErrNotFound) {
			return no, err
		}
	}
	switch r.Action {
	case audit.KeyCreated:
		if r.Key == nil {
			return no, nil
		}
		got, ok, err := v.keyByID(ctx, r.Key.ID)
		if err != nil || !ok {
			return no, err
		}
		yes.Key = AuditKey(got)
		return yes, nil
	case audit.KeyRotated:
		succ, ok, err := v.keyByID(ctx, e.Successor)
		if err != nil || !ok || succ.RotatedFrom != key.Prefix {
			return no, err
		}
		return yes, nil
	case audit.KeyRevoked:
		return when(key.Status == Revoked && string(key.RevokedReason) == r.Reason && !key.RevokedAt.Before(r.Time)), nil
	case audit.KeyLeaked:
		return when(!key.LeakedAt.IsZero() && !key.LeakedAt.Before(r.Time)), nil
	case audit.KeySuspended, audit.KeyReactivated:
		b, ok, err := v.State.ReadBudget(ctx, e.Budget)
		if err != nil || !ok {
			return no, err
		}
		return when(b.Suspended == (r.Action == audit.KeySuspended)), nil
	case audit.TierChanged:
		info, err := v.State.GetOwner(ctx, ownerOfAudit(r.Owner))
		if err != nil {
			return no, err
		}
		c, ok := r.Changes[audit.FieldTier]
		return when(ok && audit.Same(string(info.Tier), c.To)), nil
	case audit.LimitReached:
		mark, err := v.State.LimitNoticed(ctx, e.Budget, key.Prefix)
		return when(err == nil && mark == e.Day+"#"+r.ID), err
	case audit.KeyExpiring:
		t, err := v.State.ExpiryNoticed(ctx, key.Prefix)
		return when(err == nil && !t.IsZero() && t.Equal(e.ExpiresAt)), err
	case audit.KeyUpdated:
		limit := key.DailyLimit
		if e.Budget != "" {
			b, ok, err := v.State.ReadBudget(ctx, e.Budget)
			if err != nil {
				return no, err
			}
			if ok {
				limit = b.Limit
			}
		}
		now := auditFields(key, limit)
		kept := audit.Changes{}
		for f, c := range r.Changes {
			if cur, ok := now[f]; ok && audit.Same(cur, c.To) {
				kept[f] = c
			}
		}
		if len(kept) == 0 {
			return no, nil
		}
		yes.Changes = kept
		return yes, nil
	}
	return no, fmt.Errorf("no verifier for audit action %q", r.Action)
}

func when(committed bool) audit.Resolution { return audit.Resolution{Committed: committed} }

// keyByID reads the key with id (false when there is none).
func (v AuditVerifier) keyByID(ctx context.Context, id string) (Record, bool, error) {
	if id == "" {
		return Record{}, false, nil
	}
	prefix, err := v.State.KeyPrefix(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	r, err := v.State.GetKey(ctx, prefix)
	if errors.Is(err, ErrNotFound) {
		return Record{}, false, nil
	}
	if err != nil {
		return Record{}, false, err
	}
	return r, r.ID == id, nil
}

// LimitMarker marks a key's key.limit_reached of a day on its budget.
type LimitMarker interface {
	// MarkLimitReached is true the first time for the key and day; the
	// mark names the record (day#id).
	MarkLimitReached(ctx context.Context, budget, prefix, day, id string) (bool, error)
}

// LimitNotices records key.limit_reached, once per key per UTC day.
type LimitNotices struct {
	Marks LimitMarker
	Audit *audit.Log
}

// Reached records that p's key was refused for its limit on day (the first
// 429 of that day): an intent, the budget's mark, the record; nothing when
// another request marked the day first. The meter calls it on its refusal
// path only when its refusal read shows no mark for the day (every later
// 429 then costs nothing more), so a metered request that is admitted never
// pays for it.
func (n *LimitNotices) Reached(ctx context.Context, p principal.Principal, day string) error {
	sys := audit.System()
	pend, err := n.Audit.Begin(ctx, audit.Event{
		Action: audit.LimitReached, Owner: OwnerOf(p).Audit(), Actor: &sys,
		Key:      &audit.KeyRef{Prefix: p.KeyPrefix, ID: p.KeyID, Name: p.KeyName},
		Evidence: audit.Evidence{Budget: p.Budget, Day: day},
	})
	if err != nil {
		return err
	}
	first, err := n.Marks.MarkLimitReached(ctx, p.Budget, p.KeyPrefix, day, pend.Record().ID)
	switch {
	case err != nil:
		return fmt.Errorf("mark limit reached: %w", err) // outcome unknown: the intent is resolved once due
	case !first:
		// Another request was the day's first 429. The intent is left to
		// be dropped once due (the mark names the other record): the
		// meter's refusal path makes no deletion.
		return nil
	}
	return pend.Commit(ctx, nil)
}

// ExpiryCandidate is a key the byDue index says expires soon, as it
// projects it.
type ExpiryCandidate struct {
	Prefix    string
	ExpiresAt time.Time
	Noticed   time.Time // the expiry already noticed (zero: none)
	Status    Status
	RotatedTo string
}

// ExpiryIndex finds keys by expiry and marks the notice (shared/dynamo).
type ExpiryIndex interface {
	ExpiringKeys(ctx context.Context, from, to time.Time) ([]ExpiryCandidate, error)
	MarkExpiryNoticed(ctx context.Context, prefix string, expiresAt time.Time) (bool, error)
}

// ExpiryNoticeAhead is how long before its expiry a key gets its
// key.expiring.
const ExpiryNoticeAhead = 7 * 24 * time.Hour

// ExpiryNotices sends key.expiring for keys within ExpiryNoticeAhead of
// their expiry: once per key and expiry (a changed expiry gets its own),
// never for a revoked key or a rotated one in its grace period.
type ExpiryNotices struct {
	Keys interface {
		GetKey(ctx context.Context, prefix string) (Record, error)
	}
	Index ExpiryIndex
	Audit *audit.Log
	Now   func() time.Time
}

// ExpiryRun counts what a run did.
type ExpiryRun struct {
	Candidates, Noticed, Failed int
}

// Run sends the notices due now (the daily scheduled job). A key whose
// notice fails is tried again on the next run.
func (n *ExpiryNotices) Run(ctx context.Context) (ExpiryRun, error) {
	now := n.Now().UTC()
	var out ExpiryRun
	cands, err := n.Index.ExpiringKeys(ctx, now, now.Add(ExpiryNoticeAhead))
	if err != nil {
		return out, err
	}
	for _, c := range cands {
		if c.Status != Active || c.RotatedTo != "" || c.Noticed.Equal(c.ExpiresAt) {
			continue
		}
		out.Candidates++
		sent, err := n.notice(ctx, c, now)
		switch {
		case err != nil:
			out.Failed++
		case sent:
			out.Noticed++
		}
	}
	return out, nil
}

func (n *ExpiryNotices) notice(ctx context.Context, c ExpiryCandidate, now time.Time) (bool, error) {
	r, err := n.Keys.GetKey(ctx, c.Prefix)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if !r.Live(now) || r.RotatedTo != "" || !r.ExpiresAt.Equal(c.ExpiresAt) {
		return false, nil // the index lagged a change
	}
	sys := audit.System()
	pend, err := n.Audit.Begin(ctx, audit.Event{
		Action: audit.KeyExpiring, Owner: r.Owner.Audit(), Actor: &sys, Key: AuditKey(r),
		// The expiry itself, unchanged: what a reminder needs to say.
		Changes:  audit.Changes{audit.FieldExpiresAt: {From: audit.Time(r.ExpiresAt), To: audit.Time(r.ExpiresAt)}},
		Evidence: audit.Evidence{ExpiresAt: r.ExpiresAt},
	})
	if err != nil {
		return false, err
	}
	first, err := n.Index.MarkExpiryNoticed(ctx, r.Prefix, r.ExpiresAt)
	switch {
	case err != nil:
		return false, err
	case !first:
		return false, pend.Abort(ctx)
	}
	return true, pend.Commit(ctx, nil)
}
