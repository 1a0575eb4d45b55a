package keys

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/principal"
)

// prefixAttempts bounds retries on a prefix collision (32 random bits each).
const prefixAttempts = 5

// LeakAction is what a leak report does to a live key.
type LeakAction string

const (
	RevokeLeaked LeakAction = "revoke"
	FlagLeaked   LeakAction = "flag"
)

// Service is key management, key authentication, leak reports and the
// operator's commands. Every rule lives here once; the /v1 and workspace
// surfaces only map their shapes onto it.
type Service struct {
	Store  Store
	Clock  clock.Clock
	Limits config.Limits
	// Scopes are the deployment's scope names (its route table): what a
	// key's scopes may name.
	Scopes ScopeChecker
	Leaks  LeakAction // default revoke
	// Audit records every change (nil: none are recorded). Who acts and
	// from where come from the context (audit.WithActor, WithSource).
	Audit *audit.Log
	Rand  io.Reader // crypto/rand.Reader when nil
	Log   *slog.Logger
}

// Created is a new key with the secret, returned once.
type Created struct {
	Secret apikey.Key
	Key    Key
}

// CreateInput is a create request, whichever surface it came from.
type CreateInput struct {
	Name       *string
	DailyLimit *int
	ExpiresAt  *string // RFC 3339; nil: never
	Access
	Fields Fields
}

// Access is what a request may say about where a key may be used: its
// scopes and networks, nil when not given.
type Access struct {
	Scopes     *[]string
	AllowedIPs *[]string
}

// parse checks the given limits; nil results were not given.
func (s *Service) parseAccess(a Access, f Fields) (scopes, ips *string, err error) {
	if a.Scopes != nil {
		v, err := ParseScopes(*a.Scopes, s.Scopes, f)
		if err != nil {
			return nil, nil, err
		}
		scopes = &v
	}
	if a.AllowedIPs != nil {
		v, err := ParseAllowedIPs(*a.AllowedIPs, f)
		if err != nil {
			return nil, nil, err
		}
		ips = &v
	}
	return scopes, ips, nil
}

// UpdateInput is a PATCH. ClearExpiry removes the expiry (JSON null).
type UpdateInput struct {
	Name        *string
	DailyLimit  *int
	ExpiresAt   *string
	ClearExpiry bool
	Access
	Fields Fields
}

// RotateInput is a rotation request; the successor keeps its predecessor's
// scopes and networks unless Access gives new ones.
type RotateInput struct {
	GraceSeconds *int
	ExpiresAt    *string
	Access
	Fields Fields
}

// Ref names a key on a management route: by prefix (/v1) or by id (the
// workspace API).
type Ref struct {
	Prefix string
	ID     string
}

func (ref Ref) notFound() error {
	if ref.ID != "" || ref.Prefix == "" {
		return apierr.New(apierr.NotFound, "No API key with id %q in this workspace.", clip(ref.ID))
	}
	return apierr.New(apierr.NotFound, "No API key with prefix %q among your keys.", clip(ref.Prefix))
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC().Truncate(time.Second)
	}
	return s.Clock.Now().UTC().Truncate(time.Second)
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// RequireUser lets through only a signed-in user (a JWT), for every
// management route.
func RequireUser(p principal.Principal) error {
	if p.Method != principal.ViaJWT {
		return apierr.New(apierr.Forbidden, "Key management needs a signed-in user's token, not an API key.")
	}
	return nil
}

func rotatedNoExpiry() error {
	return apierr.New(apierr.Conflict, "This key was rotated; its expiry is the end of its grace period and cannot be changed.")
}

func requirePaid(t principal.Tier) error {
	if !t.Paid() {
		return apierr.New(apierr.Forbidden, "API keys need the Pro tier or above; upgrade your plan to create keys. You can still list, rename, lower and revoke the keys you have.")
	}
	return nil
}

// effectiveTier is the owner's tier: what billing last set with keygate-admin,
// else the caller's token claim.
func effectiveTier(stored OwnerInfo, claimed principal.Tier) principal.Tier {
	if stored.Tier != "" {
		return stored.Tier
	}
	return claimed
}

func (s *Service) maxKeys(o Owner) int {
	if o.Kind == WorkspaceOwned {
		return s.Limits.MaxWorkspaceKeys
	}
	return s.Limits.MaxActiveKeys
}

// Create issues a key for o, made by p.
func (s *Service) Create(ctx context.Context, p principal.Principal, o Owner, in CreateInput) (Created, error) {
	if err := RequireUser(p); err != nil {
		return Created{}, err
	}
	f := in.Fields.or()
	if in.Name == nil {
		return Created{}, apierr.New(apierr.BadRequest, "Field '%s' is required.", f.Name)
	}
	name, err := ValidateName(*in.Name, f)
	if err != nil {
		return Created{}, err
	}
	now := s.now()
	limit := s.Limits.DefaultDailyLimit
	if in.DailyLimit != nil {
		limit = *in.DailyLimit
	}
	if limit < 1 {
		return Created{}, s.checkLimit(p.Tier, limit, f)
	}
	until := NoExpiry
	var expires time.Time
	if in.ExpiresAt != nil {
		if expires, err = s.parseExpiry(*in.ExpiresAt, now, f); err != nil {
			return Created{}, err
		}
		until = expires
	}
	scopes, ips, err := s.parseAccess(in.Access, f)
	if err != nil {
		return Created{}, err
	}
	info, err := s.reserveSlot(ctx, o)
	if err != nil {
		return Created{}, err
	}
	// Billing's tier, when it has set one, overrides the token's claim.
	tier := effectiveTier(info, p.Tier)
	if err := requirePaid(tier); err != nil {
		s.releaseSlot(ctx, o)
		return Created{}, err
	}
	if err := s.checkLimit(tier, limit, f); err != nil {
		s.releaseSlot(ctx, o)
		return Created{}, err
	}
	id, err := NewID(s.Rand)
	if err != nil {
		s.releaseSlot(ctx, o)
		return Created{}, apierr.Internal(err)
	}
	r := Record{
		ID: id, Owner: o, CreatedBy: p.Sub, CreatedByEmail: p.Email, Budget: id, Name: name, DailyLimit: limit, Tier: tier,
		TeamID: p.TeamID, Status: Active, CreatedAt: now, UpdatedAt: now, ExpiresAt: expires,
		Scopes: deref(scopes, principal.AllScopes), AllowedIPs: deref(ips, ""),
	}
	if o.Kind == WorkspaceOwned {
		r.TeamID = o.ID
	}
	b := Budget{ID: id, Limit: limit, Day: clock.Day(now)}
	if info.Tier != "" {
		b.Cap = s.cap(info.Tier)
	}
	rec, err := s.begin(ctx, audit.Event{Action: audit.KeyCreated, Owner: o.Audit(),
		Key: &audit.KeyRef{ID: r.ID, Name: r.Name}, Changes: CreatedChanges(r, limit)})
	if err != nil {
		s.releaseSlot(ctx, o)
		return Created{}, fmt.Errorf("create key: %w", err)
	}
	secret, err := s.issue(ctx, &r, &b, until)
	if err != nil {
		if !errors.Is(err, errUncertain) {
			s.releaseSlot(ctx, o)
			rec.abort(ctx)
		}
		return Created{}, fmt.Errorf("create key: %w", err)
	}
	rec.commit(ctx, AuditKey(r))
	// Billing may have moved the owner to free while the key was written,
	// after the reservation read the tier and before its listing of the
	// owner's keys could see this one: look again, and take the key back.
	if after, err := s.Store.GetOwner(ctx, o); err == nil && after.Tier != "" && !after.Tier.Paid() {
		if err := s.revoke(ctx, r, ByAdmin, ""); err != nil && !errors.Is(err, ErrConflict) {
			return Created{}, fmt.Errorf("create key: take back after a tier change: %w", err)
		}
		return Created{}, requirePaid(after.Tier)
	}
	return Created{Secret: secret, Key: View(r, b, now)}, nil
}

// issue draws a key for r and writes, in this order, the budget entry that
// lets it be metered, the id pointer, and the key record itself, which is
// the commit point: a crash before it leaves only unreferenced items. On a
// prefix collision it draws again and overwrites the first two, which are its
// own (the ids are fresh random UUIDs).
func (s *Service) issue(ctx context.Context, r *Record, b *Budget, until time.Time) (apikey.Key, error) {
	for range prefixAttempts {
		secret, err := apikey.Generate(orRand(s.Rand))
		if err != nil {
			return apikey.Key{}, apierr.Internal(fmt.Errorf("generate key: %w", err))
		}
		r.Prefix, r.Hash = secret.Prefix(), secret.Hash()
		b.ValidUntil = map[string]time.Time{r.Prefix: until}
		b.Scopes = map[string]string{r.Prefix: r.ScopeSet()}
		b.AllowedIPs = map[string]string{r.Prefix: r.AllowedIPs}
		if err := s.Store.PutBudget(ctx, *b); err != nil {
			return apikey.Key{}, err
		}
		if err := s.Store.PutKeyID(ctx, r.ID, r.Prefix); err != nil {
			return apikey.Key{}, err
		}
		err = s.Store.PutKey(ctx, *r)
		if errors.Is(err, ErrPrefixTaken) {
			continue
		}
		if err != nil {
			// A write that timed out may still have landed: look before
			// the caller gives the slot back.
			got, gerr := s.Store.GetKey(ctx, r.Prefix)
			switch {
			case gerr == nil && got.ID == r.ID:
				return secret, nil
			case errors.Is(gerr, ErrNotFound):
				return apikey.Key{}, err
			default:
				return apikey.Key{}, fmt.Errorf("%w: %w", errUncertain, err)
			}
		}
		return secret, nil
	}
	return apikey.Key{}, apierr.Unavailable(fmt.Errorf("%d prefix collisions in a row", prefixAttempts))
}

// errUncertain is a key write whose outcome is unknown: its slot is kept (an
// upward drift the repair mends), never given back twice.
var errUncertain = errors.New("outcome of the key write unknown")

// SlotRepairQuiet is how long the slot counter must have been still before a
// recount may overwrite it: long enough for every in-flight create to have
// written its key and for the byOwner index to have caught up.
const SlotRepairQuiet = time.Minute

// reserveSlot takes an active-key slot. The counter can drift above the true
// count when a process dies between reserving and writing its key, and when
// keys expire (nothing writes then). When it says full, has been still for
// SlotRepairQuiet, and the index holds fewer keys holding slots, it is set to
// the true count with a conditional write that fails if anything moved it.
func (s *Service) reserveSlot(ctx context.Context, o Owner) (OwnerInfo, error) {
	max := s.maxKeys(o)
	now := s.now()
	info, err := s.Store.ReserveSlot(ctx, o, max, now)
	if err == nil {
		return info, nil
	}
	if !errors.Is(err, ErrSlotsFull) {
		return OwnerInfo{}, fmt.Errorf("reserve key slot: %w", err)
	}
	full := apierr.New(apierr.Forbidden, "There are %d active API keys, the most allowed; revoke one to create another.", max)
	seen, err := s.Store.Slots(ctx, o)
	if err != nil {
		return OwnerInfo{}, fmt.Errorf("read key slots: %w", err)
	}
	if now.Sub(seen.ChangedAt) < SlotRepairQuiet {
		return OwnerInfo{}, full
	}
	all, err := s.Store.ListKeys(ctx, o)
	if err != nil {
		return OwnerInfo{}, fmt.Errorf("count active keys: %w", err)
	}
	held := 0
	for _, r := range all {
		if r.HoldsSlot(now) {
			held++
		}
	}
	if held >= max {
		return OwnerInfo{}, full
	}
	s.log().WarnContext(ctx, "repairing drifted key slot counter", "counted", seen.Used, "activeKeys", held)
	if err := s.Store.RepairSlots(ctx, o, seen, held, now); errors.Is(err, ErrSlotsFull) {
		return OwnerInfo{}, full
	} else if err != nil {
		return OwnerInfo{}, fmt.Errorf("repair key slots: %w", err)
	}
	info, err = s.Store.ReserveSlot(ctx, o, max, now)
	if errors.Is(err, ErrSlotsFull) {
		return OwnerInfo{}, full
	}
	if err != nil {
		return OwnerInfo{}, fmt.Errorf("reserve key slot: %w", err)
	}
	return info, nil
}

func (s *Service) releaseSlot(ctx context.Context, o Owner) {
	if err := s.Store.ReleaseSlot(ctx, o, s.now()); err != nil {
		// The counter stays one too high; the repair above mends it.
		s.log().WarnContext(ctx, "release key slot failed", "error", err)
	}
}

// Filter selects keys by status; All selects every key.
type Filter Status

// All is the filter that keeps every key.
const All Filter = "all"

// List returns o's keys, newest first, those with status f (or all).
func (s *Service) List(ctx context.Context, o Owner, f Filter) ([]Key, error) {
	recs, err := s.Store.ListKeys(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	budgets, err := s.budgets(ctx, recs)
	if err != nil {
		return nil, err
	}
	now := s.now()
	out := make([]Key, 0, len(recs))
	for _, r := range recs {
		k := View(r, budgets[r.Budget], now)
		if f == All || Filter(k.Status) == f {
			out = append(out, k)
		}
	}
	return out, nil
}

func (s *Service) budgets(ctx context.Context, recs []Record) (map[string]Budget, error) {
	ids := make([]string, 0, len(recs))
	seen := make(map[string]bool, len(recs))
	for _, r := range recs {
		if !seen[r.Budget] {
			seen[r.Budget] = true
			ids = append(ids, r.Budget)
		}
	}
	if len(ids) == 0 {
		return map[string]Budget{}, nil
	}
	b, err := s.Store.GetBudgets(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("read key budgets: %w", err)
	}
	return b, nil
}

func (s *Service) budget(ctx context.Context, id string) (Budget, error) {
	b, err := s.budgets(ctx, []Record{{Budget: id}})
	if err != nil {
		return Budget{}, err
	}
	return b[id], nil
}

// resolve finds o's key named by ref; anything else is the 404 of ref, so a
// foreign key and an unknown one answer alike.
func (s *Service) resolve(ctx context.Context, o Owner, ref Ref) (Record, error) {
	prefix := ref.Prefix
	if ref.ID != "" || prefix == "" {
		if !ValidID(ref.ID) {
			return Record{}, ref.notFound()
		}
		p, err := s.Store.KeyPrefix(ctx, ref.ID)
		if errors.Is(err, ErrNotFound) {
			return Record{}, ref.notFound()
		}
		if err != nil {
			return Record{}, fmt.Errorf("find key %s: %w", ref.ID, err)
		}
		prefix = p
	} else if !apikey.ValidPrefix(prefix) {
		return Record{}, ref.notFound()
	}
	r, err := s.Store.GetKey(ctx, prefix)
	if errors.Is(err, ErrNotFound) {
		return Record{}, ref.notFound()
	}
	if err != nil {
		return Record{}, fmt.Errorf("read key %s: %w", prefix, err)
	}
	if r.Owner != o || (ref.ID != "" && r.ID != ref.ID) {
		return Record{}, ref.notFound()
	}
	return r, nil
}

// Update renames a key, changes its daily limit or its expiry. Any owner may
// rename and lower; a raise may not pass the owner's current tier cap.
func (s *Service) Update(ctx context.Context, p principal.Principal, o Owner, ref Ref, in UpdateInput) (Key, error) {
	if err := RequireUser(p); err != nil {
		return Key{}, err
	}
	f := in.Fields.or()
	if in.Name == nil && in.DailyLimit == nil && in.ExpiresAt == nil && !in.ClearExpiry && in.Scopes == nil && in.AllowedIPs == nil {
		return Key{}, apierr.New(apierr.BadRequest, "Give at least one of the fields '%s', '%s', '%s', '%s' and '%s'.",
			f.Name, f.DailyLimit, f.ExpiresAt, f.Scopes, f.AllowedIPs)
	}
	now := s.now()
	change := KeyChange{Owner: o, RequireActive: true, NotExpiredAt: now, UpdatedAt: now}
	if in.Name != nil {
		name, err := ValidateName(*in.Name, f)
		if err != nil {
			return Key{}, err
		}
		change.Name = &name
	}
	if in.DailyLimit != nil && *in.DailyLimit < 1 {
		return Key{}, apierr.New(apierr.BadRequest, "Field '%s' must be a positive integer (got %d).", f.DailyLimit, *in.DailyLimit)
	}
	until := NoExpiry
	if in.ClearExpiry {
		change.ExpiresAt = &time.Time{}
	} else if in.ExpiresAt != nil {
		t, err := s.parseExpiry(*in.ExpiresAt, now, f)
		if err != nil {
			return Key{}, err
		}
		change.ExpiresAt, until = &t, t
	}
	var err error
	if change.Scopes, change.AllowedIPs, err = s.parseAccess(in.Access, f); err != nil {
		return Key{}, err
	}
	r, err := s.resolve(ctx, o, ref)
	if err != nil {
		return Key{}, err
	}
	if !r.Live(now) {
		return Key{}, ref.notFound()
	}
	if change.ExpiresAt != nil {
		if r.RotatedTo != "" {
			return Key{}, rotatedNoExpiry()
		}
		change.NotRotated = true
	}
	var stored OwnerInfo
	if in.DailyLimit != nil {
		if stored, err = s.Store.GetOwner(ctx, o); err != nil {
			return Key{}, fmt.Errorf("read owner: %w", err)
		}
		change.DailyLimit = *in.DailyLimit
	}
	// The record: every changed field of the key object, from and to (the
	// limit as the budget enforces it).
	before, err := s.budget(ctx, r.Budget)
	if err != nil {
		return Key{}, err
	}
	var rec intent
	if changes := UpdateChanges(r, before.Limit, change); len(changes) > 0 {
		if rec, err = s.begin(ctx, audit.Event{Action: audit.KeyUpdated, Owner: o.Audit(), Key: AuditKey(r),
			Changes: changes, Evidence: audit.Evidence{Budget: r.Budget}}); err != nil {
			return Key{}, fmt.Errorf("update key %s: %w", r.Prefix, err)
		}
	}
	if in.DailyLimit != nil {
		if err := s.setLimit(ctx, r.Budget, effectiveTier(stored, p.Tier), *in.DailyLimit, f); err != nil {
			rec.abort(ctx)
			return Key{}, err
		}
	}
	if o.Kind == UserOwned {
		// The owner is acting with a fresh token: a personal key picks up
		// their current team, which it otherwise keeps from its creation.
		team := p.TeamID
		change.TeamID = &team
	}
	// The record first (not rotated, if the expiry changes), then the
	// budget's validity, which must not undo a rotation's grace end that
	// landed in between.
	prefix := r.Prefix
	r, err = s.Store.UpdateKey(ctx, prefix, change)
	if errors.Is(err, ErrConflict) && in.DailyLimit == nil {
		rec.abort(ctx) // nothing of the change landed
	}
	if errors.Is(err, ErrConflict) {
		if cur, gerr := s.Store.GetKey(ctx, prefix); gerr == nil && cur.Live(now) && cur.RotatedTo != "" && change.ExpiresAt != nil {
			return Key{}, rotatedNoExpiry()
		}
		return Key{}, ref.notFound()
	}
	if err != nil {
		return Key{}, fmt.Errorf("update key %s: %w", prefix, err)
	}
	// The budget, which the meter reads: the key's validity, scopes and
	// networks in one write, from the very next request on.
	bc := BudgetChange{RequireLive: r.Prefix}
	if change.ExpiresAt != nil {
		bc.Valid, bc.RequireNotRotated = map[string]time.Time{r.Prefix: until}, r.Prefix
	}
	if change.Scopes != nil {
		bc.Scopes = map[string]string{r.Prefix: *change.Scopes}
	}
	if change.AllowedIPs != nil {
		bc.AllowedIPs = map[string]string{r.Prefix: *change.AllowedIPs}
	}
	if bc.Valid != nil || bc.Scopes != nil || bc.AllowedIPs != nil {
		_, err := s.Store.UpdateBudget(ctx, r.Budget, bc)
		if errors.Is(err, ErrConflict) {
			return Key{}, apierr.New(apierr.Conflict, "This key was rotated or revoked while it was being changed; its grace period or revocation stands.")
		}
		if err != nil {
			return Key{}, fmt.Errorf("update key %s: %w", r.Prefix, err)
		}
	}
	rec.commit(ctx, nil)
	b, err := s.budget(ctx, r.Budget)
	if err != nil {
		return Key{}, err
	}
	return View(r, b, now), nil
}

// setLimit stores a new daily limit. One conditional write: a lowering
// always applies, a raise only up to the tier's cap, and the meter reads the
// stored value on the very next request.
func (s *Service) setLimit(ctx context.Context, budget string, tier principal.Tier, n int, f Fields) error {
	capN := s.cap(tier)
	_, err := s.Store.UpdateBudget(ctx, budget, BudgetChange{Limit: n, Cap: capN})
	if errors.Is(err, ErrConflict) {
		// The cap billing stored on the budget may be the lower one (a tier
		// change landed meanwhile).
		if b, berr := s.budget(ctx, budget); berr == nil && b.Cap > 0 && b.Cap < capN {
			capN = b.Cap
		}
		if tier.Paid() {
			return apierr.New(apierr.Forbidden, "Field '%s' may be at most %d on your plan (got %d); a higher tier raises the cap.", f.DailyLimit, capN, n)
		}
		return apierr.New(apierr.Forbidden, "On the %s tier a key's '%s' can only be lowered (got %d).", tier, f.DailyLimit, n)
	}
	if err != nil {
		return fmt.Errorf("set daily limit: %w", err)
	}
	return nil
}

// Revoke permanently disables o's key; the record stays for audit.
func (s *Service) Revoke(ctx context.Context, p principal.Principal, o Owner, ref Ref) error {
	if err := RequireUser(p); err != nil {
		return err
	}
	r, err := s.resolve(ctx, o, ref)
	if err != nil {
		return err
	}
	if r.Status == Revoked {
		return ref.notFound()
	}
	err = s.revoke(ctx, r, ByOwner, "")
	if errors.Is(err, ErrConflict) {
		return ref.notFound()
	}
	return err
}

// revoke takes the key out of its budget first (the meter refuses it from
// the next request on, whatever any cache says), then marks the record, and
// gives back its slot if it held one. ErrConflict: revoked meanwhile.
func (s *Service) revoke(ctx context.Context, r Record, why RevokedReason, url string) error {
	now := s.now()
	from := Active
	if r.Expired(now) {
		from = Expired
	}
	rec, err := s.begin(ctx, audit.Event{Action: audit.KeyRevoked, Owner: r.Owner.Audit(), Key: AuditKey(r), Reason: string(why),
		Changes: audit.Changes{audit.FieldStatus: {From: string(from), To: string(Revoked)}}})
	if err != nil {
		return fmt.Errorf("revoke key %s: %w", r.Prefix, err)
	}
	last, err := s.Store.UpdateBudget(ctx, r.Budget, BudgetChange{Invalidate: []string{r.Prefix}})
	if err != nil && !errors.Is(err, ErrConflict) {
		return fmt.Errorf("revoke key %s: %w", r.Prefix, err)
	}
	change := KeyChange{Owner: r.Owner, RequireActive: true, Revoke: why, LeakURL: url, UpdatedAt: now, LastUsedAt: last[r.Prefix]}
	done, err := s.Store.UpdateKey(ctx, r.Prefix, change)
	if err != nil {
		if errors.Is(err, ErrConflict) {
			rec.abort(ctx) // revoked by someone else, who records it
			return ErrConflict
		}
		return fmt.Errorf("revoke key %s: %w", r.Prefix, err)
	}
	rec.commit(ctx, nil)
	// Whether the key held a slot is read off the record as the revocation
	// left it, not as it was read before: a rotation in between hands the
	// slot to the successor, which keeps it.
	if done.RotatedTo == "" && !done.Expired(now) {
		s.releaseSlot(ctx, r.Owner)
	}
	return nil
}

// Authenticate resolves a key to its record: ErrNotFound for an unknown
// prefix, ErrWrongSecret when the prefix exists but the key does not match,
// ErrRevoked or ErrExpired for a key that may no longer be used. Suspension
// and the daily limit are the meter's to enforce.
func (s *Service) Authenticate(ctx context.Context, key apikey.Key) (Record, error) {
	r, err := s.Store.GetKey(ctx, key.Prefix())
	if err != nil {
		return Record{}, err
	}
	if !key.Matches(r.Hash) {
		return Record{}, ErrWrongSecret
	}
	if r.Status != Active {
		return Record{}, ErrRevoked
	}
	if r.Expired(s.now()) {
		return r, ErrExpired
	}
	return r, nil
}

func deref(v *string, def string) string {
	if v == nil {
		return def
	}
	return *v
}
