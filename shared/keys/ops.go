package keys

import (
	"context"
	"errors"
	"fmt"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/principal"
)

// WorkspaceOwner checks that p may manage the keys of workspace id and
// returns it as an owner. header is the X-Workspace-ID header (nil when not
// sent). Another team's workspace and an unknown one answer alike (no
// existence oracle): the caller's own token is all that is consulted.
func WorkspaceOwner(p principal.Principal, id string, header *string) (Owner, error) {
	if p.Method != principal.ViaJWT {
		return Owner{}, apierr.New(apierr.Forbidden, "Workspace key management needs a signed-in member's token, not an API key.")
	}
	if header != nil && *header != id {
		return Owner{}, apierr.New(apierr.BadRequest, "Header 'X-Workspace-ID' (%q) does not match the workspace in the path (%q).", clip(*header), clip(id))
	}
	if !ValidWorkspaceID(id) || p.TeamID != id {
		return Owner{}, apierr.New(apierr.NotFound, "No workspace %q among yours.", clip(id))
	}
	if p.Tier != principal.Team && p.Tier != principal.Enterprise {
		return Owner{}, apierr.New(apierr.Forbidden, "Workspace API keys need the Team tier or above; your tier is %s.", p.Tier)
	}
	return Workspace(principal.Qualify(p.IssuerTag, id)), nil
}

// ReportLeak handles a report that tok was found in public at url. A live
// keygate key is a true positive: it is revoked (reason leaked, with the
// URL), or only flagged when the deployment says so. Anything else (not a
// key, unknown, wrong secret, revoked, expired) is a false positive and
// changes nothing, and so does a second report of the same key.
func (s *Service) ReportLeak(ctx context.Context, tok, url string) (bool, error) {
	key, err := apikey.Parse(tok)
	if err != nil {
		return false, nil
	}
	r, err := s.Store.GetKey(ctx, key.Prefix())
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("leak report: %w", err)
	}
	if !key.Matches(r.Hash) || !r.Live(s.now()) {
		return false, nil
	}
	var leakURL any
	if url != "" {
		leakURL = url
	}
	if s.Leaks == FlagLeaked {
		if !r.LeakedAt.IsZero() {
			return true, nil
		}
		rec, err := s.leakRecord(ctx, r, leakURL)
		if err != nil {
			return false, err
		}
		_, err = s.Store.UpdateKey(ctx, r.Prefix, KeyChange{RequireActive: true, Flag: true, LeakURL: url, UpdatedAt: s.now()})
		if errors.Is(err, ErrConflict) {
			rec.abort(ctx)
		}
		if err != nil && !errors.Is(err, ErrConflict) {
			return false, fmt.Errorf("flag leaked key %s: %w", r.Prefix, err)
		}
		if err == nil {
			rec.commit(ctx, nil)
		}
		s.log().WarnContext(ctx, "leaked key flagged", "keyPrefix", r.Prefix)
		return true, nil
	}
	rec, err := s.leakRecord(ctx, r, leakURL)
	if err != nil {
		return false, err
	}
	// revoke records key.revoked, reason leaked, itself.
	err = s.revoke(ctx, r, Leaked, url)
	switch {
	case errors.Is(err, ErrConflict):
		rec.abort(ctx) // revoked meanwhile: this report changed nothing
	case err != nil:
		return false, err
	default:
		rec.commit(ctx, nil)
	}
	s.log().WarnContext(ctx, "leaked key revoked", "keyPrefix", r.Prefix)
	return true, nil
}

// leakRecord begins key.leaked, by GitHub, naming where the key was found.
func (s *Service) leakRecord(ctx context.Context, r Record, url any) (intent, error) {
	gh := audit.GitHub()
	rec, err := s.begin(ctx, audit.Event{Action: audit.KeyLeaked, Owner: r.Owner.Audit(), Key: AuditKey(r), Actor: &gh,
		Changes: audit.Changes{audit.FieldLeakedURL: {From: nil, To: url}}})
	if err != nil {
		return intent{}, fmt.Errorf("leak report: %w", err)
	}
	return rec, nil
}

// Lookup reads any key by prefix, for operators.
func (s *Service) Lookup(ctx context.Context, prefix string) (Key, error) {
	if !apikey.ValidPrefix(prefix) {
		return Key{}, Ref{Prefix: prefix}.notFound()
	}
	r, err := s.Store.GetKey(ctx, prefix)
	if errors.Is(err, ErrNotFound) {
		return Key{}, apierr.New(apierr.NotFound, "No API key with prefix %q.", prefix)
	}
	if err != nil {
		return Key{}, fmt.Errorf("read key %s: %w", prefix, err)
	}
	b, err := s.budget(ctx, r.Budget)
	if err != nil {
		return Key{}, err
	}
	return View(r, b, s.now()), nil
}

// AdminRevoke revokes any key (reason admin).
func (s *Service) AdminRevoke(ctx context.Context, prefix string) (Key, error) {
	k, err := s.Lookup(ctx, prefix)
	if err != nil {
		return Key{}, err
	}
	if k.Record.Status == Revoked {
		return k, apierr.New(apierr.NotFound, "Key %s is already revoked.", prefix)
	}
	if err := s.revoke(ctx, k.Record, ByAdmin, ""); err != nil && !errors.Is(err, ErrConflict) {
		return Key{}, err
	}
	return s.Lookup(ctx, prefix)
}

// TierChange is what SetTier did.
type TierChange struct {
	Keys      int // keys of the owner
	Live      int // of them, the keys neither revoked nor expired (suspended or not)
	Suspended int // budgets suspended
	Restored  int // budgets no longer suspended
	Lowered   int // budgets whose limit was lowered to the new cap
}

// SetTier records the tier billing set for o and brings o's keys in line:
// on free every key is suspended (401 on use, shown as suspended), on a paid
// tier suspension is lifted and limits above the tier's cap are lowered to
// it. Each budget is one write, so the very next request sees it. The keys
// are listed through the byOwner index, which may lag a key created a moment
// before: callers run it again once the index has caught up (keygate-admin
// does, after two seconds); it is idempotent. A create racing it checks the
// tier again after writing its key.
func (s *Service) SetTier(ctx context.Context, o Owner, t principal.Tier) (TierChange, error) {
	now := s.now()
	was, err := s.Store.GetOwner(ctx, o)
	if err != nil {
		return TierChange{}, fmt.Errorf("set tier: %w", err)
	}
	var rec intent
	if was.Tier != t {
		var from any
		if was.Tier != "" {
			from = string(was.Tier)
		}
		if rec, err = s.begin(ctx, audit.Event{Action: audit.TierChanged, Owner: o.Audit(),
			Changes: audit.Changes{audit.FieldTier: {From: from, To: string(t)}}}); err != nil {
			return TierChange{}, fmt.Errorf("set tier: %w", err)
		}
	}
	if err := s.Store.SetOwnerTier(ctx, o, t, now); err != nil {
		return TierChange{}, fmt.Errorf("set tier: %w", err)
	}
	rec.commit(ctx, nil)
	recs, err := s.Store.ListKeys(ctx, o)
	if err != nil {
		return TierChange{}, fmt.Errorf("set tier: list keys: %w", err)
	}
	budgets, err := s.budgets(ctx, recs)
	if err != nil {
		return TierChange{}, err
	}
	out := TierChange{Keys: len(recs)}
	for _, r := range recs {
		if r.Status != Revoked && !r.Expired(now) {
			out.Live++
		}
	}
	suspend := !t.Paid()
	done := map[string]bool{}
	for _, r := range recs {
		change := KeyChange{Tier: t}
		if c := s.cap(t); c > 0 && r.DailyLimit > c {
			change.DailyLimit = c
		}
		if r.Tier != t || change.DailyLimit > 0 {
			if _, err := s.Store.UpdateKey(ctx, r.Prefix, change); err != nil {
				return out, fmt.Errorf("set tier of key %s: %w", r.Prefix, err)
			}
		}
		if done[r.Budget] {
			continue
		}
		done[r.Budget] = true
		b, ok := budgets[r.Budget]
		if !ok {
			continue
		}
		bc := BudgetChange{Suspend: &suspend}
		if c := s.cap(t); !suspend {
			// The cap is stored too: a PATCH racing this change cannot raise
			// the limit past it.
			bc.SetCap = c
			if b.Limit > c {
				bc.LowerTo = c
				out.Lowered++
			}
		}
		// The records: each live key of the budget suspended or back, and
		// its limit lowered to the new cap.
		var events []audit.Event
		for _, k := range recs {
			if k.Budget != r.Budget || !k.Live(now) {
				continue
			}
			ev := audit.Event{Owner: o.Audit(), Key: AuditKey(k), Evidence: audit.Evidence{Budget: k.Budget}}
			switch {
			case suspend && !b.Suspended:
				ev.Action, ev.Changes = audit.KeySuspended, audit.Changes{audit.FieldStatus: {From: string(Active), To: string(Suspended)}}
				events = append(events, ev)
			case !suspend && b.Suspended:
				ev.Action, ev.Changes = audit.KeyReactivated, audit.Changes{audit.FieldStatus: {From: string(Suspended), To: string(Active)}}
				events = append(events, ev)
			}
			if bc.LowerTo > 0 {
				ev.Action, ev.Changes = audit.KeyUpdated, audit.Changes{audit.FieldDailyLimit: {From: b.Limit, To: bc.LowerTo}}
				events = append(events, ev)
			}
		}
		brec, err := s.begin(ctx, events...)
		if err != nil {
			return out, fmt.Errorf("set tier of budget %s: %w", r.Budget, err)
		}
		if _, err := s.Store.UpdateBudget(ctx, r.Budget, bc); err != nil {
			return out, fmt.Errorf("set tier of budget %s: %w", r.Budget, err)
		}
		brec.commit(ctx, nil)
		switch {
		case suspend && !b.Suspended:
			out.Suspended++
		case !suspend && b.Suspended:
			out.Restored++
		}
	}
	return out, nil
}
