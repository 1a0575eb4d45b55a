package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/keygate/keygate/shared/clock"
)

// State is an item's place in its life: an intent or a record.
type State string

const (
	StatePending State = "pending" // written before the change; not shown
	StateFinal   State = "final"   // the record; shown and published
)

// Item is a record as stored: the record, its state, and for an intent the
// evidence its verifier reads and when it may be resolved.
type Item struct {
	Record   Record
	State    State
	Evidence Evidence
	// Pos orders an owner's log (newest first) and is the cursor's position:
	// Position(Record).
	Pos string
	// Due is when an intent may be resolved (its Begin plus Settle).
	Due time.Time
	// ExpiresAt is when the store may forget the item (its TTL).
	ExpiresAt time.Time
	// Resolved says an intent was finalized by a resolution (reader or
	// sweep), not by its own request.
	Resolved bool
}

// ErrNotPending is Store.Finalize or Drop finding an item that is no longer
// an intent (another resolution got there first).
var ErrNotPending = errors.New("audit item is not pending")

// Store persists the log (shared/dynamo implements it). Every read is
// strongly consistent but Due's, which reads an index.
type Store interface {
	// PutIntents writes new intents (Pending items).
	PutIntents(ctx context.Context, items []Item) error
	// Finalize writes it as Final, only if the stored item is still an
	// intent or is gone (a late commit after a resolution dropped it);
	// ErrNotPending when it is already final.
	Finalize(ctx context.Context, it Item) error
	// Drop deletes an intent, only while it is pending; ErrNotPending
	// otherwise.
	Drop(ctx context.Context, it Item) error
	// Page reads owner o's items after position after ("" from the
	// newest), newest first, up to n (before any filter), keeping those of
	// key prefix keyPrefix when set. more says whether the log goes on past
	// last, the position the page ended at.
	Page(ctx context.Context, o Owner, after string, n int, keyPrefix string) (items []Item, last string, more bool, err error)
	// Get reads one item (false when gone).
	Get(ctx context.Context, o Owner, pos string) (Item, bool, error)
	// Due lists intents due at now, oldest first, at most n, as owner and
	// position.
	Due(ctx context.Context, now time.Time, n int) ([]ItemRef, error)
}

// ItemRef names a stored item.
type ItemRef struct {
	Owner Owner
	Pos   string
}

// Verifier tells whether an intent's change committed, from the current
// state of what it changed (shared/keys implements it for every action).
type Verifier interface {
	// Verify returns the committed part of the intent: Committed false when
	// nothing of it landed; otherwise Changes (nil: as intended) and Key
	// (nil: as intended) as the state shows them.
	Verify(ctx context.Context, r Record, e Evidence) (Resolution, error)
}

// Resolution is what a Verifier found.
type Resolution struct {
	Committed bool
	Changes   Changes
	Key       *KeyRef
}

// Defaults.
const (
	// DefaultRetention is how long records are kept (the table's TTL).
	DefaultRetention = 365 * 24 * time.Hour
	// DefaultSettle is how old an intent must be before it is resolved:
	// longer than any request that may still be making its change (the
	// route functions' 10 s timeout, the authorizer's 5 s) with a wide
	// margin for clock skew between Lambdas.
	DefaultSettle = 2 * time.Minute
)

// Log writes and reads the audit log.
type Log struct {
	Store    Store
	Verifier Verifier
	Clock    clock.Clock
	// Retention is how long a record is kept (DefaultRetention when 0).
	Retention time.Duration
	// Settle is how old an intent must be before a reader or the sweep
	// resolves it (DefaultSettle when 0). It must exceed the longest a
	// process may take between its Begin and its change: keep Begin right
	// before the change it records.
	Settle time.Duration
	Rand   io.Reader // crypto/rand when nil
	Log    *slog.Logger
	// Published, when set, is called with each record that became final,
	// after it was stored: local mode publishes events with it
	// (in-process, the publisher's own code); deployed, DynamoDB Streams
	// carry final records to the publisher Lambda and this stays nil.
	Published func(ctx context.Context, r Record)
	// BeforeCommit, when set, runs at the start of every Commit, right
	// after the caller's change: the fault-injection tests end the process
	// there. Nil in production.
	BeforeCommit func(r Record)
}

func (l *Log) now() time.Time {
	if l.Clock == nil {
		return time.Now().UTC()
	}
	return l.Clock.Now().UTC()
}

func (l *Log) retention() time.Duration {
	if l.Retention <= 0 {
		return DefaultRetention
	}
	return l.Retention
}

func (l *Log) settle() time.Duration {
	if l.Settle <= 0 {
		return DefaultSettle
	}
	return l.Settle
}

func (l *Log) log() *slog.Logger {
	if l.Log == nil {
		return slog.Default()
	}
	return l.Log
}

// seq orders records of one process made within the same clock instant.
var seq atomic.Int64

// Position is a record's place in its owner's log: the record's time to the
// second (from the injected clock), the wall clock's nanoseconds plus a
// process counter (so records made within one second, or on a test's fixed
// clock, still sort in the order they were made), and the id.
func position(t time.Time, id string) string {
	return fmt.Sprintf("%s#%019d#%s", t.UTC().Format(time.RFC3339), time.Now().UnixNano()+seq.Add(1), id)
}

func (l *Log) newID() (string, error) {
	r := l.Rand
	if r == nil {
		r = rand.Reader
	}
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("audit record id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

// item builds an intent for e at now.
func (l *Log) item(ctx context.Context, e Event, now time.Time) (Item, error) {
	if !e.Action.Valid() {
		return Item{}, fmt.Errorf("audit: unknown action %q", e.Action)
	}
	if e.Owner.Kind == "" || e.Owner.ID == "" {
		return Item{}, fmt.Errorf("audit: %s without an owner", e.Action)
	}
	id, err := l.newID()
	if err != nil {
		return Item{}, err
	}
	r := Record{ID: id, Time: now.Truncate(time.Second), Action: e.Action, Key: e.Key, Changes: e.Changes,
		Reason: e.Reason, Owner: e.Owner, Actor: ActorFrom(ctx)}
	if e.Actor != nil {
		r.Actor = *e.Actor
	}
	src := SourceFrom(ctx)
	if src.IP.IsValid() {
		r.SourceIP = optional(src.IP.Unmap().String())
	}
	r.UserAgent = optional(src.UserAgent)
	sanitize(&r)
	return Item{Record: r, State: StatePending, Evidence: e.Evidence, Pos: position(now, id),
		Due: now.Add(l.settle()), ExpiresAt: now.Add(l.retention())}, nil
}

// Pending is an intent written by Begin: the caller makes its change, then
// calls Commit, or Abort when the change certainly did not happen. When the
// change's outcome is unknown (a write that timed out), it calls neither:
// the intent is resolved against the state once it is due.
type Pending struct {
	log  *Log
	item Item
}

// Record is the record the intent will become.
func (p *Pending) Record() Record { return p.item.Record }

// Begin writes the intent of one change; the change must not be made when
// it fails (the error is the store's: 503 when unreachable).
func (l *Log) Begin(ctx context.Context, e Event) (*Pending, error) {
	ps, err := l.BeginAll(ctx, []Event{e})
	if err != nil {
		return nil, err
	}
	return ps[0], nil
}

// BeginAll writes the intents of several changes made together (a rotation's
// key.rotated and key.created) in one batch.
func (l *Log) BeginAll(ctx context.Context, events []Event) ([]*Pending, error) {
	now := l.now()
	items := make([]Item, len(events))
	out := make([]*Pending, len(events))
	for i, e := range events {
		it, err := l.item(ctx, e, now)
		if err != nil {
			return nil, err
		}
		items[i] = it
		out[i] = &Pending{log: l, item: it}
	}
	if err := l.Store.PutIntents(ctx, items); err != nil {
		return nil, fmt.Errorf("write audit intent: %w", err)
	}
	return out, nil
}

// Commit finalizes the record after the change landed. changes, when not
// nil, replace the intended ones with what the change did. An error need not
// be acted on (it is logged): the intent stays and is resolved once due.
func (p *Pending) Commit(ctx context.Context, changes Changes) error {
	return p.CommitKey(ctx, nil, changes)
}

// CommitKey is Commit that also sets the key as the change left it (a
// create's prefix is drawn in its write).
func (p *Pending) CommitKey(ctx context.Context, key *KeyRef, changes Changes) error {
	l := p.log
	if l.BeforeCommit != nil {
		l.BeforeCommit(p.item.Record)
	}
	it := p.item
	if key != nil {
		k := *key
		it.Record.Key = &k
	}
	if changes != nil {
		it.Record.Changes = changes
	}
	sanitize(&it.Record)
	it.State = StateFinal
	if err := l.finalize(ctx, it); err != nil {
		l.log().WarnContext(ctx, "audit record left pending; it is resolved once due", "action", string(it.Record.Action),
			"auditId", it.Record.ID, "error", err)
		return err
	}
	return nil
}

// Abort withdraws the intent: the change was refused and did not happen.
func (p *Pending) Abort(ctx context.Context) error {
	err := p.log.Store.Drop(ctx, p.item)
	if err != nil && !errors.Is(err, ErrNotPending) {
		p.log.log().WarnContext(ctx, "audit intent not withdrawn; it is dropped once due", "auditId", p.item.Record.ID, "error", err)
		return err
	}
	return nil
}

// finalize stores the record as final and publishes it; a record someone
// else finalized first is not published twice.
func (l *Log) finalize(ctx context.Context, it Item) error {
	err := l.Store.Finalize(ctx, it)
	if errors.Is(err, ErrNotPending) {
		return nil
	}
	if err != nil {
		return err
	}
	if l.Published != nil {
		l.Published(ctx, it.Record)
	}
	return nil
}

// resolve settles a due intent against the state: finalized with what
// committed, or dropped. It reports the record when it was kept.
func (l *Log) resolve(ctx context.Context, it Item) (Record, bool, error) {
	res, err := l.Verifier.Verify(ctx, it.Record, it.Evidence)
	if err != nil {
		return Record{}, false, fmt.Errorf("verify audit intent %s: %w", it.Record.ID, err)
	}
	if !res.Committed {
		if err := l.Store.Drop(ctx, it); err != nil && !errors.Is(err, ErrNotPending) {
			return Record{}, false, fmt.Errorf("drop audit intent %s: %w", it.Record.ID, err)
		}
		l.log().InfoContext(ctx, "audit intent dropped: its change never landed", "action", string(it.Record.Action), "auditId", it.Record.ID)
		return Record{}, false, nil
	}
	if res.Changes != nil {
		it.Record.Changes = res.Changes
	}
	if res.Key != nil {
		k := *res.Key
		it.Record.Key = &k
	}
	sanitize(&it.Record)
	it.State, it.Resolved = StateFinal, true
	if err := l.finalize(ctx, it); err != nil {
		return Record{}, false, fmt.Errorf("finalize audit intent %s: %w", it.Record.ID, err)
	}
	l.log().WarnContext(ctx, "audit record finalized by resolution: its request ended after the change", "action", string(it.Record.Action), "auditId", it.Record.ID)
	return it.Record, true, nil
}

// SweepResult counts what a sweep did.
type SweepResult struct {
	Finalized, Dropped, Failed int
}

// sweepBatch bounds one sweep's work; the next run takes the rest.
const sweepBatch = 500

// Sweep resolves every intent that is due (the scheduled job runs it every
// few minutes). Intents it cannot resolve now (the store failing) stay for
// the next run.
func (l *Log) Sweep(ctx context.Context) (SweepResult, error) {
	var out SweepResult
	refs, err := l.Store.Due(ctx, l.now(), sweepBatch)
	if err != nil {
		return out, fmt.Errorf("list due audit intents: %w", err)
	}
	for _, ref := range refs {
		it, ok, err := l.Store.Get(ctx, ref.Owner, ref.Pos)
		if err != nil {
			out.Failed++
			l.log().WarnContext(ctx, "read due audit intent", "error", err)
			continue
		}
		if !ok || it.State != StatePending {
			continue // the index lags: already resolved
		}
		_, kept, err := l.resolve(ctx, it)
		switch {
		case err != nil:
			out.Failed++
			l.log().WarnContext(ctx, "resolve audit intent", "error", err)
		case kept:
			out.Finalized++
		default:
			out.Dropped++
		}
	}
	return out, nil
}
