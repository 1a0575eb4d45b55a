package keys_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/dynamo"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

// auditRig is a key service and an audit log on one table, the way the
// Lambdas wire them, with the events the log published.
type auditRig struct {
	svc   *keys.Service
	store *dynamo.Store
	log   *audit.Log
	clk   *clock.Fixed
	// intent is the id of the intent a verifier case began.
	intent string

	mu        sync.Mutex
	published []audit.Record
}

var auditStart = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

func newAuditRig(t *testing.T) *auditRig {
	return rigOn(testenv.Store(t), clock.NewFixed(auditStart))
}

func rigOn(store *dynamo.Store, clk *clock.Fixed) *auditRig {
	rig := &auditRig{store: store, clk: clk}
	rig.log = &audit.Log{Store: store, Verifier: keys.AuditVerifier{State: store}, Clock: clk}
	rig.log.Published = func(_ context.Context, r audit.Record) {
		rig.mu.Lock()
		rig.published = append(rig.published, r)
		rig.mu.Unlock()
	}
	rig.svc = &keys.Service{Store: store, Clock: clk, Limits: config.DefaultLimits()}
	return rig
}

func (rig *auditRig) events() []audit.Record {
	rig.mu.Lock()
	defer rig.mu.Unlock()
	return append([]audit.Record(nil), rig.published...)
}

// requestCtx is what the route adapter will put in a request's context.
func requestCtx(sub string) context.Context {
	ctx := audit.WithActor(context.Background(), audit.User(sub))
	return audit.WithSource(ctx, audit.Source{IP: netip.MustParseAddr("203.0.113.9"), UserAgent: "curl/8.5.0"})
}

func (rig *auditRig) create(t *testing.T, name string) keys.Key {
	t.Helper()
	c, err := rig.svc.Create(context.Background(), alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr(name)})
	if err != nil {
		t.Fatal(err)
	}
	return c.Key
}

// beginUpdate writes the intent of a PATCH the way the service will (phase
// 2 of issue 18): the key and its budget as read, the changes the PATCH
// makes.
func (rig *auditRig) beginUpdate(ctx context.Context, t *testing.T, prefix string, c keys.KeyChange) *audit.Pending {
	t.Helper()
	r, err := rig.store.GetKey(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := rig.store.ReadBudget(ctx, r.Budget)
	if err != nil {
		t.Fatal(err)
	}
	p, err := rig.log.Begin(ctx, audit.Event{
		Action: audit.KeyUpdated, Owner: r.Owner.Audit(), Key: keys.AuditKey(r),
		Changes: keys.UpdateChanges(r, b.Limit, c), Evidence: audit.Evidence{Budget: r.Budget},
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (rig *auditRig) list(t *testing.T, o keys.Owner, q audit.Query) audit.Page {
	t.Helper()
	p, err := rig.log.List(context.Background(), o.Audit(), q)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func actions(recs []audit.Record) string {
	var out []string
	for _, r := range recs {
		out = append(out, string(r.Action))
	}
	return strings.Join(out, ",")
}

func TestAuditCommittedRecordIsListedAndPublished(t *testing.T) {
	rig := newAuditRig(t)
	k := rig.create(t, "CI Pipeline")
	ctx := requestCtx("alice")
	pend := rig.beginUpdate(ctx, t, k.Prefix, keys.KeyChange{Name: ptr("CI"), DailyLimit: 5})
	if got := rig.list(t, keys.User("alice"), audit.Query{}); len(got.Records) != 0 {
		t.Fatalf("an intent of a request still running is shown: %+v", got.Records)
	}
	if _, err := rig.svc.Update(ctx, alice, keys.User("alice"), keys.Ref{Prefix: k.Prefix},
		keys.UpdateInput{Name: ptr("CI"), DailyLimit: ptr(5)}); err != nil {
		t.Fatal(err)
	}
	if err := pend.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	page := rig.list(t, keys.User("alice"), audit.Query{})
	if len(page.Records) != 1 || page.Next != "" {
		t.Fatalf("%+v", page)
	}
	r := page.Records[0]
	want := audit.Changes{"name": {From: "CI Pipeline", To: "CI"}, "dailyLimit": {From: 250, To: 5}}
	if r.Action != audit.KeyUpdated || !audit.Same(r.Changes, want) || r.Actor.Type != audit.ByUser || *r.Actor.ID != "alice" ||
		*r.SourceIP != "203.0.113.9" || *r.UserAgent != "curl/8.5.0" || r.Key.Prefix != k.Prefix || r.Key.Name != "CI Pipeline" ||
		!r.Time.Equal(auditStart) {
		b, _ := json.Marshal(r)
		t.Fatalf("record %s", b)
	}
	if ev := rig.events(); len(ev) != 1 || ev[0].ID != r.ID {
		t.Fatalf("published %+v", ev)
	}
}

func TestAuditAbortedIntentLeavesNothing(t *testing.T) {
	rig := newAuditRig(t)
	k := rig.create(t, "CI")
	ctx := requestCtx("alice")
	pend := rig.beginUpdate(ctx, t, k.Prefix, keys.KeyChange{Name: ptr("never")})
	if err := pend.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	rig.clk.Advance(time.Hour)
	if res, err := rig.log.Sweep(ctx); err != nil || res != (audit.SweepResult{}) {
		t.Fatalf("sweep after an abort: %+v %v", res, err)
	}
	if got := rig.list(t, keys.User("alice"), audit.Query{}); len(got.Records) != 0 {
		t.Fatalf("%+v", got.Records)
	}
}

// A request that died after its change and before its record: the intent is
// resolved from the key's state once no request can still be running, by the
// reader or by the sweep, keeping exactly what committed.
func TestAuditIntentResolvedFromState(t *testing.T) {
	for _, by := range []string{"reader", "sweep"} {
		t.Run("by the "+by, func(t *testing.T) {
			rig := newAuditRig(t)
			k := rig.create(t, "CI")
			ctx := requestCtx("alice")
			rig.beginUpdate(ctx, t, k.Prefix, keys.KeyChange{Name: ptr("CI 2"), DailyLimit: 5})
			// Only the limit landed (the budget is written before the record).
			if _, err := rig.svc.Update(ctx, alice, keys.User("alice"), keys.Ref{Prefix: k.Prefix}, keys.UpdateInput{DailyLimit: ptr(5)}); err != nil {
				t.Fatal(err)
			}
			rig.clk.Advance(audit.DefaultSettle - time.Second)
			if got := rig.list(t, keys.User("alice"), audit.Query{}); len(got.Records) != 0 {
				t.Fatal("resolved before its request could have ended")
			}
			rig.clk.Advance(2 * time.Second)
			if by == "sweep" {
				res, err := rig.log.Sweep(ctx)
				if err != nil || res != (audit.SweepResult{Finalized: 1}) {
					t.Fatalf("%+v %v", res, err)
				}
			}
			got := rig.list(t, keys.User("alice"), audit.Query{})
			if len(got.Records) != 1 || !audit.Same(got.Records[0].Changes, audit.Changes{"dailyLimit": {From: 250, To: 5}}) {
				t.Fatalf("%+v", got.Records)
			}
			rig.list(t, keys.User("alice"), audit.Query{})
			if res, _ := rig.log.Sweep(ctx); res != (audit.SweepResult{}) || len(rig.events()) != 1 {
				t.Fatalf("resolved twice: %+v, %d events", res, len(rig.events()))
			}
		})
	}
}

func TestAuditIntentWithoutChangeIsDropped(t *testing.T) {
	rig := newAuditRig(t)
	k := rig.create(t, "CI")
	ctx := requestCtx("alice")
	rig.beginUpdate(ctx, t, k.Prefix, keys.KeyChange{Name: ptr("CI 2")})
	rig.clk.Advance(time.Hour)
	res, err := rig.log.Sweep(ctx)
	if err != nil || res != (audit.SweepResult{Dropped: 1}) {
		t.Fatalf("%+v %v", res, err)
	}
	if got := rig.list(t, keys.User("alice"), audit.Query{}); len(got.Records) != 0 || len(rig.events()) != 0 {
		t.Fatalf("%+v", got.Records)
	}
}

func TestAuditPagesNewestFirstWithOwnersCursor(t *testing.T) {
	rig := newAuditRig(t)
	ctx := requestCtx("alice")
	k := rig.create(t, "CI")
	other := rig.create(t, "other")
	for i := range 7 {
		ref := keys.AuditKey(k.Record)
		if i == 3 {
			ref = keys.AuditKey(other.Record)
		}
		p, err := rig.log.Begin(ctx, audit.Event{Action: audit.KeyUpdated, Owner: keys.User("alice").Audit(), Key: ref,
			Changes: audit.Changes{"dailyLimit": {From: i, To: i + 1}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Commit(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	var seen []any
	cursor := ""
	for range 3 {
		page := rig.list(t, keys.User("alice"), audit.Query{Limit: 3, Cursor: cursor})
		for _, r := range page.Records {
			seen = append(seen, r.Changes["dailyLimit"].To)
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if !audit.Same(seen, []int{7, 6, 5, 4, 3, 2, 1}) || cursor != "" {
		t.Fatalf("pages %v, last cursor %q", seen, cursor)
	}
	only := rig.list(t, keys.User("alice"), audit.Query{KeyPrefix: other.Prefix})
	if len(only.Records) != 1 || only.Records[0].Key.Prefix != other.Prefix {
		t.Fatalf("%+v", only)
	}

	first := rig.list(t, keys.User("alice"), audit.Query{Limit: 2})
	bad := map[string]audit.Query{
		"limit 0 is the default, 101 is too many": {Limit: 101},
		"negative limit":                {Limit: -1},
		"garbage cursor":                {Cursor: "not a cursor"},
		"cursor of another owner's log": {Cursor: first.Next, KeyPrefix: ""},
		"forged position":               {Cursor: "YTEuMDAwMDAwMDAwMDAwLjIwMjY"},
	}
	for name, q := range bad {
		owner := keys.User("alice").Audit()
		if name == "cursor of another owner's log" {
			owner = keys.User("mallory").Audit()
		}
		_, err := rig.log.List(ctx, owner, q)
		if code(err) != apierr.BadRequest {
			t.Errorf("%s: %v, want BadRequest", name, err)
		}
	}
	if got := rig.list(t, keys.User("mallory"), audit.Query{}); len(got.Records) != 0 {
		t.Fatalf("another user sees %d records", len(got.Records))
	}
}

func TestAuditRecordNeverHoldsAKeyOrHash(t *testing.T) {
	rig := newAuditRig(t)
	k := rig.create(t, "CI")
	secret := "csk_live_0123456789abcdef0123456789abcdef"
	hash := strings.Repeat("ab", 32)
	ctx := audit.WithSource(context.Background(), audit.Source{UserAgent: "tool " + secret})
	p, err := rig.log.Begin(ctx, audit.Event{Action: audit.KeyUpdated, Owner: keys.User("alice").Audit(),
		Key:     &audit.KeyRef{Prefix: k.Prefix, ID: k.ID, Name: "pasted " + secret},
		Changes: audit.Changes{"name": {From: "x " + hash, To: secret}, "hash": {From: nil, To: hash}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got := rig.list(t, keys.User("alice"), audit.Query{})
	b, _ := json.Marshal(got.Records)
	if strings.Contains(string(b), secret[17:]) || strings.Contains(string(b), hash) || strings.Contains(string(b), `"hash"`) {
		t.Fatalf("record holds a key or hash: %s", b)
	}
	if !strings.Contains(string(b), "csk_live_01234567") {
		t.Fatalf("the prefix of a pasted key is kept to say what it was: %s", b)
	}
}

func TestAuditRecordsExpireByTTL(t *testing.T) {
	rig := newAuditRig(t)
	rig.log.Retention = 30 * 24 * time.Hour
	ctx := context.Background()
	p, err := rig.log.Begin(ctx, audit.Event{Action: audit.TierChanged, Owner: keys.User("alice").Audit(),
		Changes: audit.Changes{"tier": {From: "pro", To: "free"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Commit(ctx, nil); err != nil {
		t.Fatal(err)
	}
	items, _, _, err := rig.store.Page(ctx, keys.User("alice").Audit(), "", 10, "")
	if err != nil || len(items) != 1 {
		t.Fatal(items, err)
	}
	if want := auditStart.Add(30 * 24 * time.Hour); !items[0].ExpiresAt.Equal(want) {
		t.Fatalf("TTL %v, want %v", items[0].ExpiresAt, want)
	}
}

// TestAuditVerifier resolves an intent of every action with and without its
// change having landed.
func TestAuditVerifier(t *testing.T) {
	ctx := requestCtx("alice")
	type tc struct {
		event func(rig *auditRig, k keys.Key) audit.Event
		// change makes the intended change; nil leaves the state alone.
		change func(t *testing.T, rig *auditRig, k keys.Key)
	}
	ws := keys.User("alice")
	cases := map[string]tc{
		"key.created": {
			event: func(rig *auditRig, k keys.Key) audit.Event {
				return audit.Event{Action: audit.KeyCreated, Owner: ws.Audit(), Key: &audit.KeyRef{ID: "1e0bd6b4-8a2c-4d3a-9f51-0e6b2b1b7c01"}}
			},
		},
		"key.revoked": {
			event: func(rig *auditRig, k keys.Key) audit.Event {
				return audit.Event{Action: audit.KeyRevoked, Owner: ws.Audit(), Key: keys.AuditKey(k.Record), Reason: "owner"}
			},
			change: func(t *testing.T, rig *auditRig, k keys.Key) {
				if err := rig.svc.Revoke(ctx, alice, ws, keys.Ref{Prefix: k.Prefix}); err != nil {
					t.Fatal(err)
				}
			},
		},
		"key.suspended": {
			event: func(rig *auditRig, k keys.Key) audit.Event {
				return audit.Event{Action: audit.KeySuspended, Owner: ws.Audit(), Key: keys.AuditKey(k.Record),
					Evidence: audit.Evidence{Budget: k.Budget}}
			},
			change: func(t *testing.T, rig *auditRig, k keys.Key) {
				if _, err := rig.svc.SetTier(ctx, ws, principal.Free); err != nil {
					t.Fatal(err)
				}
			},
		},
		"owner.tier_changed": {
			event: func(rig *auditRig, k keys.Key) audit.Event {
				return audit.Event{Action: audit.TierChanged, Owner: ws.Audit(), Changes: audit.Changes{"tier": {From: "pro", To: "team"}}}
			},
			change: func(t *testing.T, rig *auditRig, k keys.Key) {
				if _, err := rig.svc.SetTier(ctx, ws, principal.Team); err != nil {
					t.Fatal(err)
				}
			},
		},
		"key.rotated": {
			event: func(rig *auditRig, k keys.Key) audit.Event {
				return audit.Event{Action: audit.KeyRotated, Owner: ws.Audit(), Key: keys.AuditKey(k.Record),
					Evidence: audit.Evidence{Successor: "set by the change"}}
			},
		},
		"key.limit_reached": {
			event: func(rig *auditRig, k keys.Key) audit.Event {
				return audit.Event{Action: audit.LimitReached, Owner: ws.Audit(), Key: keys.AuditKey(k.Record),
					Evidence: audit.Evidence{Budget: k.Budget, Day: "2026-12-05"}}
			},
			change: func(t *testing.T, rig *auditRig, k keys.Key) {
				if first, err := rig.store.MarkLimitReached(ctx, k.Budget, k.Prefix, "2026-12-05", rig.intent); err != nil || !first {
					t.Fatal(first, err)
				}
			},
		},
	}
	for name, c := range cases {
		for _, landed := range []bool{false, true} {
			if c.change == nil && landed {
				continue
			}
			t.Run(name+map[bool]string{true: " committed", false: " never landed"}[landed], func(t *testing.T) {
				rig := newAuditRig(t)
				k := rig.create(t, "CI")
				p, err := rig.log.Begin(ctx, c.event(rig, k))
				if err != nil {
					t.Fatal(err)
				}
				rig.intent = p.Record().ID
				if landed {
					c.change(t, rig, k)
				}
				res, err := keys.AuditVerifier{State: rig.store}.Verify(ctx, p.Record(), c.event(rig, k).Evidence)
				if err != nil || res.Committed != landed {
					t.Fatalf("committed %v (%v), want %v", res.Committed, err, landed)
				}
			})
		}
	}
	t.Run("key.created and key.rotated committed", func(t *testing.T) {
		rig := newAuditRig(t)
		k := rig.create(t, "CI")
		rot, err := rig.svc.Rotate(ctx, alice, ws, keys.Ref{Prefix: k.Prefix}, keys.RotateInput{})
		if err != nil {
			t.Fatal(err)
		}
		v := keys.AuditVerifier{State: rig.store}
		res, err := v.Verify(ctx, audit.Record{Action: audit.KeyCreated, Key: &audit.KeyRef{ID: rot.Key.ID}}, audit.Evidence{})
		if err != nil || !res.Committed || res.Key.Prefix != rot.Key.Prefix {
			t.Fatalf("created: %+v %v", res, err)
		}
		res, err = v.Verify(ctx, audit.Record{Action: audit.KeyRotated, Key: keys.AuditKey(k.Record)}, audit.Evidence{Successor: rot.Key.ID})
		if err != nil || !res.Committed {
			t.Fatalf("rotated: %+v %v", res, err)
		}
	})
}

func TestLimitReachedOncePerKeyPerDay(t *testing.T) {
	rig := newAuditRig(t)
	k := rig.create(t, "CI")
	n := &keys.LimitNotices{Marks: rig.store, Audit: rig.log}
	p := k.Principal()
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.Reached(ctx, p, "2026-12-05"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := n.Reached(ctx, p, "2026-12-06"); err != nil {
		t.Fatal(err)
	}
	rig.clk.Advance(time.Hour)
	got := rig.list(t, keys.User("alice"), audit.Query{})
	if actions(got.Records) != "key.limit_reached,key.limit_reached" || got.Records[0].Actor.Type != audit.BySystem ||
		got.Records[0].Key.Prefix != k.Prefix || got.Records[0].Key.Name != "CI" {
		t.Fatalf("%+v", got.Records)
	}
	if res, _ := rig.log.Sweep(ctx); res != (audit.SweepResult{}) {
		t.Fatalf("a losing racer left an intent: %+v", res)
	}
}

func TestExpiryNoticesOncePerExpiry(t *testing.T) {
	rig := newAuditRig(t)
	ctx := context.Background()
	mk := func(name string, in time.Duration) keys.Key {
		c := keys.CreateInput{Name: ptr(name)}
		if in > 0 {
			c.ExpiresAt = ptr(auditStart.Add(in).Format(time.RFC3339))
		}
		k, err := rig.svc.Create(ctx, alice, keys.User("alice"), c)
		if err != nil {
			t.Fatal(err)
		}
		return k.Key
	}
	soon := mk("soon", 3*24*time.Hour)
	mk("later", 20*24*time.Hour)
	mk("never", 0)
	gone := mk("revoked", 2*24*time.Hour)
	if err := rig.svc.Revoke(ctx, alice, keys.User("alice"), keys.Ref{Prefix: gone.Prefix}); err != nil {
		t.Fatal(err)
	}
	job := &keys.ExpiryNotices{Keys: rig.store, Index: rig.store, Audit: rig.log, Now: rig.clk.Now}
	run := func() keys.ExpiryRun {
		t.Helper()
		r, err := job.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := run(); r.Noticed != 1 {
		t.Fatalf("first run %+v", r)
	}
	rig.clk.Advance(24 * time.Hour)
	if r := run(); r.Noticed != 0 || r.Candidates != 0 {
		t.Fatalf("the next day again: %+v", r)
	}
	// A new expiry is a new threshold.
	if _, err := rig.svc.Update(ctx, alice, keys.User("alice"), keys.Ref{Prefix: soon.Prefix},
		keys.UpdateInput{ExpiresAt: ptr(auditStart.Add(6 * 24 * time.Hour).Format(time.RFC3339))}); err != nil {
		t.Fatal(err)
	}
	if r := run(); r.Noticed != 1 {
		t.Fatalf("after a new expiry %+v", r)
	}
	rig.clk.Advance(time.Hour)
	got := rig.list(t, keys.User("alice"), audit.Query{})
	if actions(got.Records) != "key.expiring,key.expiring" || got.Records[0].Key.Prefix != soon.Prefix ||
		!audit.Same(got.Records[0].Changes["expiresAt"].To, "2026-12-11T10:00:00Z") {
		b, _ := json.Marshal(got.Records)
		t.Fatalf("%s", b)
	}
}
