package keys

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/principal"
)

// MaxNameLen is the longest key name, in characters, after trimming.
const MaxNameLen = 100

// prefixAttempts bounds retries on a prefix collision (32 random bits each).
const prefixAttempts = 5

// Service is key management and key authentication.
type Service struct {
	Store  Store
	Clock  clock.Clock
	Limits config.Limits
	Rand   io.Reader // crypto/rand.Reader when nil
	Log    *slog.Logger
}

// Created is a new key with the secret, returned once.
type Created struct {
	Key    apikey.Key
	Record Record
}

// CreateInput is the body of POST /v1/api-keys.
type CreateInput struct {
	Name       *string `json:"name"`
	DailyLimit *int    `json:"dailyLimit"`
}

func (s *Service) now() time.Time {
	if s.Clock == nil {
		return time.Now().UTC()
	}
	return s.Clock.Now()
}

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// RequireManager lets through only a signed-in user of a paid tier.
func RequireManager(p principal.Principal) error {
	if p.Method != principal.ViaJWT {
		return apierr.New(apierr.Forbidden, "Key management needs a signed-in user's token, not an API key.")
	}
	if p.Tier == principal.Free {
		return apierr.New(apierr.Forbidden, "API keys need the Pro tier or above; upgrade your plan to create and manage keys.")
	}
	return nil
}

// ValidateName trims and checks a key name.
func ValidateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return "", apierr.New(apierr.BadRequest, "Field 'name' must be valid UTF-8 text.")
	case n == 0:
		return "", apierr.New(apierr.BadRequest, "Field 'name' must not be empty.")
	case n > MaxNameLen:
		return "", apierr.New(apierr.BadRequest, "Field 'name' must be at most %d characters (got %d).", MaxNameLen, n)
	}
	for _, r := range name {
		// Cf holds the invisible formatting characters (bidi overrides,
		// zero-width spaces) that make one name look like another.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return "", apierr.New(apierr.BadRequest, "Field 'name' must not contain control or invisible formatting characters.")
		}
	}
	return name, nil
}

// ValidateDailyLimit checks a limit: below 1 is a bad request; above the
// caller's tier cap is forbidden (the contract's "limit cap reached").
func (s *Service) ValidateDailyLimit(p principal.Principal, n int) error {
	limit := s.Limits.TierCaps[p.Tier]
	if n < 1 {
		return apierr.New(apierr.BadRequest, "Field 'dailyLimit' must be an integer from 1 to %d for the %s tier (got %d).", limit, p.Tier, n)
	}
	if n > limit {
		return apierr.New(apierr.Forbidden, "Field 'dailyLimit' may be at most %d on the %s tier (got %d); a higher tier raises the cap.", limit, p.Tier, n)
	}
	return nil
}

// Create issues a key for p.
func (s *Service) Create(ctx context.Context, p principal.Principal, in CreateInput) (Created, error) {
	if err := RequireManager(p); err != nil {
		return Created{}, err
	}
	if in.Name == nil {
		return Created{}, apierr.New(apierr.BadRequest, "Field 'name' is required.")
	}
	name, err := ValidateName(*in.Name)
	if err != nil {
		return Created{}, err
	}
	limit := s.Limits.DefaultDailyLimit
	if in.DailyLimit != nil {
		limit = *in.DailyLimit
	}
	if err := s.ValidateDailyLimit(p, limit); err != nil {
		return Created{}, err
	}
	if err := s.reserveSlot(ctx, p.Sub); err != nil {
		return Created{}, err
	}
	now := s.now().Truncate(time.Second)
	rnd := s.Rand
	if rnd == nil {
		rnd = rand.Reader
	}
	for range prefixAttempts {
		key, err := apikey.Generate(rnd)
		if err != nil {
			s.releaseSlot(ctx, p.Sub)
			return Created{}, apierr.Internal(fmt.Errorf("generate key: %w", err))
		}
		r := Record{
			Prefix: key.Prefix(), Hash: key.Hash(), Owner: p.Sub, Tier: p.Tier, TeamID: p.TeamID,
			Name: name, DailyLimit: limit, Status: Active, CreatedAt: now, UpdatedAt: now,
		}
		err = s.Store.PutKey(ctx, r)
		if errors.Is(err, ErrPrefixTaken) {
			continue
		}
		if err != nil {
			s.releaseSlot(ctx, p.Sub)
			return Created{}, fmt.Errorf("create key: %w", err)
		}
		return Created{Key: key, Record: r}, nil
	}
	s.releaseSlot(ctx, p.Sub)
	return Created{}, apierr.Unavailable(fmt.Errorf("create key: %d prefix collisions in a row", prefixAttempts))
}

// SlotRepairQuiet is how long the slot counter must have been still before a
// recount may overwrite it: long enough for every in-flight create to have
// written its key and for the byOwner index to have caught up.
const SlotRepairQuiet = time.Minute

// reserveSlot takes an active-key slot. The counter can drift above the true
// count only if a process dies between reserving and writing its key. When
// it says full, has been still for SlotRepairQuiet, and the index holds fewer
// active keys, it is set to the true count with a conditional write that
// fails if anything moved it meanwhile.
func (s *Service) reserveSlot(ctx context.Context, owner string) error {
	max := s.Limits.MaxActiveKeys
	now := s.now()
	err := s.Store.ReserveSlot(ctx, owner, max, now)
	if err == nil || !errors.Is(err, ErrSlotsFull) {
		if err != nil {
			return fmt.Errorf("reserve key slot: %w", err)
		}
		return nil
	}
	full := apierr.New(apierr.Forbidden, "You have %d active API keys, the most allowed; revoke one to create another.", max)
	seen, err := s.Store.Slots(ctx, owner)
	if err != nil {
		return fmt.Errorf("read key slots: %w", err)
	}
	if now.Sub(seen.ChangedAt) < SlotRepairQuiet {
		return full
	}
	all, err := s.Store.ListKeys(ctx, owner)
	if err != nil {
		return fmt.Errorf("count active keys: %w", err)
	}
	active := 0
	for _, r := range all {
		if r.Status == Active {
			active++
		}
	}
	if active >= max {
		return full
	}
	s.log().WarnContext(ctx, "repairing drifted key slot counter", "counted", seen.Used, "activeKeys", active)
	err = s.Store.RepairSlots(ctx, owner, seen, active, now)
	if errors.Is(err, ErrSlotsFull) {
		return full
	}
	if err != nil {
		return fmt.Errorf("repair key slots: %w", err)
	}
	if err := s.Store.ReserveSlot(ctx, owner, max, now); err != nil {
		if errors.Is(err, ErrSlotsFull) {
			return full
		}
		return fmt.Errorf("reserve key slot: %w", err)
	}
	return nil
}

func (s *Service) releaseSlot(ctx context.Context, owner string) {
	if err := s.Store.ReleaseSlot(ctx, owner, s.now()); err != nil {
		// The counter stays one too high; the repair above mends it.
		s.log().WarnContext(ctx, "release key slot failed", "error", err)
	}
}

// List returns p's keys, newest first; revoked ones only when asked.
func (s *Service) List(ctx context.Context, p principal.Principal, includeRevoked bool) ([]Record, error) {
	if err := RequireManager(p); err != nil {
		return nil, err
	}
	all, err := s.Store.ListKeys(ctx, p.Sub)
	if err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	if includeRevoked {
		return all, nil
	}
	active := all[:0]
	for _, r := range all {
		if r.Status == Active {
			active = append(active, r)
		}
	}
	return active, nil
}

// UpdateInput is the body of PATCH /v1/api-keys/{prefix}.
type UpdateInput struct {
	Name       *string `json:"name"`
	DailyLimit *int    `json:"dailyLimit"`
}

// Update renames a key or changes its daily limit.
func (s *Service) Update(ctx context.Context, p principal.Principal, prefix string, in UpdateInput) (Record, error) {
	if err := RequireManager(p); err != nil {
		return Record{}, err
	}
	if in.Name == nil && in.DailyLimit == nil {
		return Record{}, apierr.New(apierr.BadRequest, "Give at least one of the fields 'name' and 'dailyLimit'.")
	}
	// The owner is acting with a fresh token: the key picks up their current
	// tier and team, which it otherwise keeps from its creation.
	patch := Patch{Tier: p.Tier, TeamID: p.TeamID}
	if in.Name != nil {
		name, err := ValidateName(*in.Name)
		if err != nil {
			return Record{}, err
		}
		patch.Name = &name
	}
	if in.DailyLimit != nil {
		if err := s.ValidateDailyLimit(p, *in.DailyLimit); err != nil {
			return Record{}, err
		}
		patch.DailyLimit = in.DailyLimit
	}
	if !apikey.ValidPrefix(prefix) {
		return Record{}, notFound(prefix)
	}
	r, err := s.Store.UpdateKey(ctx, p.Sub, prefix, patch, s.now().Truncate(time.Second))
	if errors.Is(err, ErrNotFound) {
		return Record{}, notFound(prefix)
	}
	if err != nil {
		return Record{}, fmt.Errorf("update key %s: %w", prefix, err)
	}
	return r, nil
}

// Revoke permanently disables a key; the record stays for audit.
func (s *Service) Revoke(ctx context.Context, p principal.Principal, prefix string) error {
	if err := RequireManager(p); err != nil {
		return err
	}
	if !apikey.ValidPrefix(prefix) {
		return notFound(prefix)
	}
	err := s.Store.RevokeKey(ctx, p.Sub, prefix, s.now().Truncate(time.Second))
	if errors.Is(err, ErrNotFound) {
		return notFound(prefix)
	}
	if err != nil {
		return fmt.Errorf("revoke key %s: %w", prefix, err)
	}
	s.releaseSlot(ctx, p.Sub)
	return nil
}

func notFound(prefix string) error {
	if len(prefix) > 40 {
		prefix = prefix[:40] + "…"
	}
	return apierr.New(apierr.NotFound, "No active API key with prefix %q among your keys.", prefix)
}

// Authenticate resolves a key to its record: ErrNotFound for an unknown
// prefix, ErrWrongSecret when the prefix exists but the key does not match,
// ErrRevoked for a revoked key.
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
	return r, nil
}
