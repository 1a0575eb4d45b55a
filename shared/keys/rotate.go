package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/principal"
)

// Rotated is a rotation's successor, with its secret shown once.
type Rotated struct {
	Created
	Predecessor Record
}

// Rotate issues a successor for o's key: same name, same budget (so the two
// share one daily counter and one limit; rotating never grants a fresh
// quota). The predecessor keeps working until the grace period ends (its
// expiry becomes that moment, or stays earlier), then gets 401.
//
// Order of writes: claim the predecessor (conditional: still active, not
// expired, not rotated: a second rotation is 409), write the successor's id
// pointer and record, then one budget write that admits the successor and
// cuts the predecessor's validity to the grace end. A rotation never takes a
// new slot: the successor takes over its predecessor's.
func (s *Service) Rotate(ctx context.Context, p principal.Principal, o Owner, ref Ref, in RotateInput) (Rotated, error) {
	if err := RequireUser(p); err != nil {
		return Rotated{}, err
	}
	if err := requirePaid(p.Tier); err != nil {
		return Rotated{}, err
	}
	f := in.Fields.or()
	grace, err := parseGrace(in.GraceSeconds, f)
	if err != nil {
		return Rotated{}, err
	}
	now := s.now()
	succUntil := NoExpiry
	var succExpires time.Time
	if in.ExpiresAt != nil {
		if succExpires, err = s.parseExpiry(*in.ExpiresAt, now, f); err != nil {
			return Rotated{}, err
		}
		succUntil = succExpires
	}
	pred, err := s.resolve(ctx, o, ref)
	if err != nil {
		return Rotated{}, err
	}
	if !pred.Live(now) {
		return Rotated{}, ref.notFound()
	}
	if pred.RotatedTo != "" {
		return Rotated{}, rotatedAlready()
	}
	stored, err := s.Store.GetOwner(ctx, o)
	if err != nil {
		return Rotated{}, fmt.Errorf("read owner: %w", err)
	}
	tier := effectiveTier(stored, p.Tier)
	if err := requirePaid(tier); err != nil {
		return Rotated{}, err
	}
	b, err := s.budget(ctx, pred.Budget)
	if err != nil {
		return Rotated{}, err
	}
	graceEnd := now.Add(grace)
	if pred.ExpiresAt.IsZero() || graceEnd.Before(pred.ExpiresAt) {
		pred.ExpiresAt = graceEnd
	}

	id, err := NewID(s.Rand)
	if err != nil {
		return Rotated{}, apierr.Internal(err)
	}
	succ := Record{
		ID: id, Owner: o, CreatedBy: p.Sub, Budget: pred.Budget, Name: pred.Name, DailyLimit: b.Limit, Tier: tier, TeamID: pred.TeamID,
		Status: Active, CreatedAt: now, UpdatedAt: now, ExpiresAt: succExpires,
		RotatedFrom: pred.Prefix, RotatedFromID: pred.ID,
	}
	if o.Kind == UserOwned {
		succ.TeamID = p.TeamID
	}
	secret, err := s.rotateRecords(ctx, &pred, &succ, now, ref)
	if err != nil {
		return Rotated{}, err
	}

	// Keys of the lineage whose validity has run out are dropped from the
	// budget here (their last use moves to their records), so rotating
	// forever does not grow the item the meter writes.
	var dead []string
	for prefix, until := range b.ValidUntil {
		if prefix != pred.Prefix && !now.Before(until) {
			dead = append(dead, prefix)
		}
	}
	change := BudgetChange{
		Valid:       map[string]time.Time{succ.Prefix: succUntil, pred.Prefix: pred.ExpiresAt},
		RequireLive: pred.Prefix,
		Invalidate:  dead,
	}
	last, err := s.Store.UpdateBudget(ctx, pred.Budget, change)
	if errors.Is(err, ErrConflict) {
		// The predecessor was revoked meanwhile: admit the successor only.
		last, err = s.Store.UpdateBudget(ctx, pred.Budget, BudgetChange{Valid: map[string]time.Time{succ.Prefix: succUntil}})
	}
	if err != nil {
		return Rotated{}, fmt.Errorf("rotate key %s: admit successor: %w", pred.Prefix, err)
	}
	for _, prefix := range dead {
		if t := last[prefix]; !t.IsZero() {
			if _, err := s.Store.UpdateKey(ctx, prefix, KeyChange{LastUsedAt: t}); err != nil {
				s.log().WarnContext(ctx, "keep last use of an ended key", "keyPrefix", prefix, "error", err)
			}
		}
	}
	b.ValidUntil = change.Valid
	return Rotated{Created: Created{Secret: secret, Key: View(succ, b, now)}, Predecessor: pred}, nil
}

// rotateRecords claims the predecessor for a freshly drawn successor and
// writes the successor's id pointer and record, drawing again (and moving the
// claim) on a prefix collision.
func (s *Service) rotateRecords(ctx context.Context, pred, succ *Record, now time.Time, ref Ref) (_ apikey.Key, err error) {
	claimed := ""
	for range prefixAttempts {
		key, err := apikey.Generate(orRand(s.Rand))
		if err != nil {
			return apikey.Key{}, err
		}
		succ.Prefix, succ.Hash = key.Prefix(), key.Hash()
		change := KeyChange{
			Owner: pred.Owner, RequireActive: true, NotExpiredAt: now,
			ExpiresAt: &pred.ExpiresAt, RotatedTo: succ.Prefix, RotatedToID: succ.ID, UpdatedAt: now,
		}
		if claimed == "" {
			change.NotRotated = true
		} else {
			change.ReplaceRotatedTo = claimed
		}
		if _, err := s.Store.UpdateKey(ctx, pred.Prefix, change); err != nil {
			if !errors.Is(err, ErrConflict) {
				return apikey.Key{}, fmt.Errorf("rotate key %s: %w", pred.Prefix, err)
			}
			return apikey.Key{}, s.whyNotRotatable(ctx, pred.Prefix, now, ref)
		}
		claimed = succ.Prefix
		pred.RotatedTo, pred.RotatedToID = succ.Prefix, succ.ID
		if err := s.Store.PutKeyID(ctx, succ.ID, succ.Prefix); err != nil {
			return apikey.Key{}, fmt.Errorf("rotate key %s: %w", pred.Prefix, err)
		}
		err = s.Store.PutKey(ctx, *succ)
		if errors.Is(err, ErrPrefixTaken) {
			continue
		}
		if err != nil {
			return apikey.Key{}, fmt.Errorf("rotate key %s: %w", pred.Prefix, err)
		}
		return key, nil
	}
	return apikey.Key{}, apierr.Unavailable(fmt.Errorf("rotate key %s: %d prefix collisions in a row", pred.Prefix, prefixAttempts))
}

// whyNotRotatable tells a lost race apart: rotated by someone else (409) or
// revoked or expired meanwhile (404).
func (s *Service) whyNotRotatable(ctx context.Context, prefix string, now time.Time, ref Ref) error {
	r, err := s.Store.GetKey(ctx, prefix)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("rotate key %s: %w", prefix, err)
	}
	if err == nil && r.Live(now) && r.RotatedTo != "" {
		return rotatedAlready()
	}
	return ref.notFound()
}

func rotatedAlready() error {
	return apierr.New(apierr.Conflict, "This key was already rotated; rotate its successor instead.")
}
