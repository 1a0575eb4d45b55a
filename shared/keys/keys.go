// Package keys is the API-key domain: the key record, the outcomes a lookup
// can have, the rules for names and limits, and the service behind the key
// management routes and the authorizer's key path. Storage is an interface
// here; shared/dynamo implements it.
package keys

import (
	"context"
	"errors"
	"time"

	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/principal"
)

// Status of a key. Revoked keys stay stored for audit.
type Status string

const (
	Active  Status = "active"
	Revoked Status = "revoked"
)

// Record is a stored key. It never holds the key itself, only its hash.
type Record struct {
	Prefix     string
	Hash       apikey.Hash
	Owner      string // the owner's sub
	Tier       principal.Tier
	TeamID     string
	Name       string
	DailyLimit int
	Status     Status
	CreatedAt  time.Time
	UpdatedAt  time.Time
	LastUsedAt time.Time // zero: never used
	RevokedAt  time.Time // zero: not revoked
}

// Principal is who a request made with this key acts as.
func (r Record) Principal() principal.Principal {
	return principal.Principal{
		Sub:        r.Owner,
		Tier:       r.Tier,
		TeamID:     r.TeamID,
		Method:     principal.ViaKey,
		KeyPrefix:  r.Prefix,
		KeyName:    r.Name,
		DailyLimit: r.DailyLimit,
		LastUsedAt: r.LastUsedAt,
	}
}

// Typed outcomes of store operations.
var (
	ErrNotFound     = errors.New("key not found")
	ErrPrefixTaken  = errors.New("key prefix already taken")
	ErrSlotsFull    = errors.New("active key slots full")
	ErrRevoked      = errors.New("key revoked")
	ErrWrongSecret  = errors.New("key secret does not match")
	ErrLimitReached = errors.New("daily limit reached")
)

// Patch is a partial update; nil fields are left alone. Owner is the tier
// and team of the owner's token making the change, copied onto the key.
type Patch struct {
	Name       *string
	DailyLimit *int
	Tier       principal.Tier
	TeamID     string
}

// Store persists keys. Implementations return the typed errors above and wrap
// an unreachable or throttled store in apierr.Unavailable.
type Store interface {
	// PutKey stores a new key; ErrPrefixTaken if the prefix exists.
	PutKey(ctx context.Context, r Record) error
	// GetKey reads a key by prefix with a strongly consistent read.
	GetKey(ctx context.Context, prefix string) (Record, error)
	// ListKeys returns the owner's keys, newest first, revoked ones included.
	ListKeys(ctx context.Context, owner string) ([]Record, error)
	// UpdateKey applies p to the owner's active key; ErrNotFound otherwise.
	UpdateKey(ctx context.Context, owner, prefix string, p Patch, now time.Time) (Record, error)
	// RevokeKey marks the owner's active key revoked; ErrNotFound otherwise.
	RevokeKey(ctx context.Context, owner, prefix string, now time.Time) error
	// ReserveSlot takes one of the owner's max active-key slots; ErrSlotsFull.
	ReserveSlot(ctx context.Context, owner string, max int, now time.Time) error
	// ReleaseSlot gives a slot back.
	ReleaseSlot(ctx context.Context, owner string, now time.Time) error
	// Slots reads the owner's slot counter and when it last changed, with a
	// strongly consistent read.
	Slots(ctx context.Context, owner string) (Slots, error)
	// RepairSlots sets the counter to n only if it still is seen (same count,
	// same change time); ErrSlotsFull if it moved meanwhile.
	RepairSlots(ctx context.Context, owner string, seen Slots, n int, now time.Time) error
}

// Slots is an owner's active-key slot counter.
type Slots struct {
	Used      int
	ChangedAt time.Time
}
