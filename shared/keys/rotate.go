package keys

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/principal"
)

// Rotated is a rotation's successor, with its secret shown once.
type Rotated struct {
	Created
	Predecessor Record
}

// claimAttempts bounds how often a rotation re-reads a key whose expiry a
// concurrent PATCH changed under it.
const claimAttempts = 3

// Rotate issues a successor for o's key: same name, same budget (so the two
// share one daily counter and one limit; rotating never grants a fresh
// quota). The predecessor keeps working until the grace period ends (its
// expiry becomes that moment, or stays earlier), then gets 401. A lineage has
// at most two live keys: rotating a successor while its own predecessor is
// still in grace ends that older grace at once.
//
// Order of writes, each conditional:
//  1. claim the predecessor: still active, not expired, its expiry as read
//     (a concurrent PATCH restarts the rotation), not rotated (a second
//     rotation is 409); the claim names the successor and sets the grace end;
//  2. one budget write: admit the successor, cut the predecessor to the
//     grace end, mark it rotated (a PATCH of its expiry then fails), drop
//     every older key of the lineage;
//  3. the successor's id pointer and record, the commit point: written only
//     if its prefix is still free.
//
// A request that fails after 1 leaves a claim naming a successor that has no
// record; the client was told 503 and retries, and the retry finishes the
// rotation with a fresh successor (its secret was never shown). A claim
// without a successor record may also be another request's rotation still
// in flight: before taking a claim over, a request voids the claimed
// successor's prefix (one conditional write on the item the record would
// be). Of that void and the record, whichever is written first wins: the
// request in flight either committed its successor (the void fails: 409
// here) or can no longer (its record write fails: 409 there). So exactly one
// rotation answers 201, and no successor a 201 returned is ever undone; no
// clock or deadline is trusted for it. A rotation never takes a new slot:
// the successor takes over its predecessor's.
func (s *Service) Rotate(ctx context.Context, p principal.Principal, o Owner, ref Ref, in RotateInput) (Rotated, error) {
	if err := RequireUser(p); err != nil {
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
	scopes, ips, err := s.parseAccess(in.Access, f)
	if err != nil {
		return Rotated{}, err
	}
	var pred Record
	var resume bool
	for attempt := 0; ; attempt++ {
		if pred, resume, err = s.rotatable(ctx, o, ref, now); err != nil {
			return Rotated{}, err
		}
		if attempt == 0 {
			stored, err := s.Store.GetOwner(ctx, o)
			if err != nil {
				return Rotated{}, fmt.Errorf("read owner: %w", err)
			}
			if err := requirePaid(effectiveTier(stored, p.Tier)); err != nil {
				return Rotated{}, err
			}
		}
		r, err := s.rotateOnce(ctx, p, pred, resume, now, grace, succExpires, succUntil, ref, scopes, ips)
		if errors.Is(err, errExpiryMoved) && attempt+1 < claimAttempts {
			continue
		}
		return r, err
	}
}

// errExpiryMoved: a PATCH changed the predecessor's expiry between the read
// and the claim.
var errExpiryMoved = errors.New("expiry changed during the rotation")

// rotatable reads o's key and says whether it may be rotated: a live key
// never rotated, or one whose claimed successor has no record (yet): resume,
// which rotateOnce does only after voiding that successor.
func (s *Service) rotatable(ctx context.Context, o Owner, ref Ref, now time.Time) (Record, bool, error) {
	pred, err := s.resolve(ctx, o, ref)
	if err != nil {
		return Record{}, false, err
	}
	if pred.Status != Active {
		return Record{}, false, ref.notFound()
	}
	if pred.RotatedTo != "" {
		succ, err := s.Store.GetKey(ctx, pred.RotatedTo)
		switch {
		case err == nil && succ.ID == pred.RotatedToID && succ.RotatedFrom == pred.Prefix:
			return Record{}, false, rotatedAlready()
		case err == nil, errors.Is(err, ErrNotFound):
			return pred, true, nil // unfinished: the successor was never written
		default:
			return Record{}, false, fmt.Errorf("rotate key %s: %w", pred.Prefix, err)
		}
	}
	if pred.Expired(now) {
		return Record{}, false, ref.notFound()
	}
	return pred, false, nil
}

func (s *Service) rotateOnce(ctx context.Context, p principal.Principal, pred Record, resume bool, now time.Time,
	grace time.Duration, succExpires, succUntil time.Time, ref Ref, scopes, ips *string) (Rotated, error) {
	b, err := s.budget(ctx, pred.Budget)
	if err != nil {
		return Rotated{}, err
	}
	// The grace end, never later than an expiry the key already had; a
	// resumed rotation keeps the end its first attempt set.
	predUntil := now.Add(grace)
	if !pred.ExpiresAt.IsZero() && (resume || pred.ExpiresAt.Before(predUntil)) {
		predUntil = pred.ExpiresAt
	}
	id, err := NewID(s.Rand)
	if err != nil {
		return Rotated{}, apierr.Internal(err)
	}
	secret, err := apikey.Generate(orRand(s.Rand))
	if err != nil {
		return Rotated{}, apierr.Internal(err)
	}
	succ := Record{
		Prefix: secret.Prefix(), Hash: secret.Hash(), ID: id, Owner: pred.Owner, CreatedBy: p.Sub, Budget: pred.Budget,
		Name: pred.Name, DailyLimit: b.Limit, Tier: pred.Tier, TeamID: pred.TeamID,
		Status: Active, CreatedAt: now, UpdatedAt: now, ExpiresAt: succExpires,
		RotatedFrom: pred.Prefix, RotatedFromID: pred.ID, CreatedByEmail: p.Email,
		Scopes: deref(scopes, pred.ScopeSet()), AllowedIPs: deref(ips, pred.AllowedIPs),
	}
	if pred.Owner.Kind == UserOwned {
		succ.TeamID = p.TeamID
	}

	// 1. The claim. Taking over another request's claim first makes sure
	// its successor can never be written.
	if resume {
		if err := s.voidSuccessor(ctx, pred, now); err != nil {
			return Rotated{}, err
		}
	}
	// The records: key.rotated on the old key, key.created of the new one.
	rotated := audit.Changes{audit.FieldRotatedTo: {From: nil, To: succ.Prefix}}
	if !pred.ExpiresAt.Equal(predUntil) {
		rotated[audit.FieldExpiresAt] = audit.Change{From: audit.Time(pred.ExpiresAt), To: audit.Time(predUntil)}
	}
	rec, err := s.begin(ctx,
		audit.Event{Action: audit.KeyRotated, Owner: pred.Owner.Audit(), Key: AuditKey(pred), Changes: rotated,
			Evidence: audit.Evidence{Successor: succ.ID}},
		audit.Event{Action: audit.KeyCreated, Owner: pred.Owner.Audit(), Key: AuditKey(succ), Changes: CreatedChanges(succ, b.Limit)})
	if err != nil {
		return Rotated{}, fmt.Errorf("rotate key %s: %w", pred.Prefix, err)
	}
	claim := KeyChange{
		Owner: pred.Owner, RequireActive: true, ExpiresAt: &predUntil,
		RotatedTo: succ.Prefix, RotatedToID: succ.ID, UpdatedAt: now,
	}
	if resume {
		claim.ReplaceRotatedTo = pred.RotatedTo
	} else {
		claim.NotRotated, claim.NotExpiredAt, claim.ExpiresAtWas = true, now, &pred.ExpiresAt
	}
	if _, err := s.Store.UpdateKey(ctx, pred.Prefix, claim); err != nil {
		if !errors.Is(err, ErrConflict) {
			return Rotated{}, fmt.Errorf("rotate key %s: %w", pred.Prefix, err)
		}
		// Lost to another rotation or a PATCH: the intents are left to be
		// dropped once due (their successor never exists), so a rotation
		// never deletes on its path.
		return Rotated{}, s.whyNotRotatable(ctx, pred, now, ref)
	}
	pred.ExpiresAt, pred.RotatedTo, pred.RotatedToID = predUntil, succ.Prefix, succ.ID

	// 2. The budget. Every other key of the lineage (an older predecessor
	// in grace, or one whose validity ran out, or a successor an unfinished
	// attempt drew) leaves it, its last use moving to its record.
	var older []string
	for prefix := range b.ValidUntil {
		if prefix != pred.Prefix {
			older = append(older, prefix)
		}
	}
	access := func(c BudgetChange) BudgetChange {
		c.Scopes = map[string]string{succ.Prefix: succ.ScopeSet()}
		c.AllowedIPs = map[string]string{succ.Prefix: succ.AllowedIPs}
		return c
	}
	change := access(BudgetChange{
		Valid:       map[string]time.Time{succ.Prefix: succUntil, pred.Prefix: predUntil},
		MarkRotated: pred.Prefix,
		RequireLive: pred.Prefix,
		Invalidate:  older,
	})
	last, err := s.Store.UpdateBudget(ctx, pred.Budget, change)
	if errors.Is(err, ErrConflict) {
		// The predecessor was revoked meanwhile: admit the successor only.
		last, err = s.Store.UpdateBudget(ctx, pred.Budget, access(BudgetChange{Valid: map[string]time.Time{succ.Prefix: succUntil}, Invalidate: older}))
	}
	if err != nil {
		return Rotated{}, fmt.Errorf("rotate key %s: admit successor: %w", pred.Prefix, err)
	}
	for _, prefix := range older {
		end := KeyChange{LastUsedAt: last[prefix]}
		if until, ok := b.ValidUntil[prefix]; ok && now.Before(until) {
			// A grace cut short: the record says so too.
			end.ExpiresAt, end.UpdatedAt = &now, now
		}
		if end.LastUsedAt.IsZero() && end.ExpiresAt == nil {
			continue
		}
		if _, err := s.Store.UpdateKey(ctx, prefix, end); err != nil && !errors.Is(err, ErrConflict) {
			s.log().WarnContext(ctx, "close an older key of a rotated lineage", "keyPrefix", prefix, "error", err)
		}
	}

	// 3. The successor.
	if err := s.Store.PutKeyID(ctx, succ.ID, succ.Prefix); err != nil {
		return Rotated{}, fmt.Errorf("rotate key %s: %w", pred.Prefix, err)
	}
	if err := s.Store.PutKey(ctx, succ); err != nil {
		if errors.Is(err, ErrPrefixTaken) {
			if _, err := s.Store.GetKey(ctx, succ.Prefix); errors.Is(err, ErrNotFound) {
				// Voided: a later request took this rotation over and
				// answers (and records) for it; these intents are dropped
				// once due.
				return Rotated{}, rotatedAlready()
			}
			// One chance in four billion per existing key; the retry the
			// client is told to make finishes the rotation.
			return Rotated{}, apierr.Unavailable(fmt.Errorf("rotate key %s: successor prefix taken", pred.Prefix))
		}
		return Rotated{}, fmt.Errorf("rotate key %s: %w", pred.Prefix, err)
	}
	rec.commit(ctx, nil)
	b.ValidUntil = map[string]time.Time{succ.Prefix: succUntil, pred.Prefix: predUntil}
	return Rotated{Created: Created{Secret: secret, Key: View(succ, b, now)}, Predecessor: pred}, nil
}

// voidSuccessor closes the prefix of the successor pred's unfinished
// rotation claimed, so that the request that drew it, if still in flight,
// cannot commit it once this one takes the claim over. If that request
// committed first, it answers 201 with it: 409 here.
func (s *Service) voidSuccessor(ctx context.Context, pred Record, now time.Time) error {
	err := s.Store.VoidPrefix(ctx, pred.RotatedTo, now)
	if err == nil {
		return nil
	}
	if !errors.Is(err, ErrPrefixTaken) {
		return fmt.Errorf("rotate key %s: void the unfinished successor: %w", pred.Prefix, err)
	}
	succ, err := s.Store.GetKey(ctx, pred.RotatedTo)
	if err != nil {
		return fmt.Errorf("rotate key %s: read the claimed successor: %w", pred.Prefix, err)
	}
	if succ.ID == pred.RotatedToID && succ.RotatedFrom == pred.Prefix {
		return rotatedAlready()
	}
	return nil // another key holds that prefix: the successor could never be written
}

// whyNotRotatable tells a lost race apart: rotated by someone else (409),
// revoked or expired meanwhile (404), or its expiry changed by a PATCH
// (start again).
func (s *Service) whyNotRotatable(ctx context.Context, seen Record, now time.Time, ref Ref) error {
	r, err := s.Store.GetKey(ctx, seen.Prefix)
	switch {
	case errors.Is(err, ErrNotFound):
		return ref.notFound()
	case err != nil:
		return fmt.Errorf("rotate key %s: %w", seen.Prefix, err)
	case r.Status != Active:
		return ref.notFound()
	case r.RotatedTo != seen.RotatedTo:
		return rotatedAlready()
	case !r.ExpiresAt.Equal(seen.ExpiresAt):
		return errExpiryMoved
	case r.Expired(now):
		return ref.notFound()
	}
	return rotatedAlready()
}

func rotatedAlready() error {
	return apierr.New(apierr.Conflict, "This key was already rotated; rotate its successor instead.")
}
