package dynamo_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/dynamo"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/principal"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func record(t *testing.T, owner keys.Owner, created time.Time) (apikey.Key, keys.Record) {
	t.Helper()
	k, err := apikey.New()
	if err != nil {
		t.Fatal(err)
	}
	id, err := keys.NewID(nil)
	if err != nil {
		t.Fatal(err)
	}
	return k, keys.Record{
		Prefix: k.Prefix(), ID: id, Hash: k.Hash(), Owner: owner, CreatedBy: "alice", Budget: id,
		Tier: principal.Pro, TeamID: "team-1", Name: "n", DailyLimit: 250, Status: keys.Active,
		CreatedAt: created, UpdatedAt: created,
	}
}

var alice = keys.User("alice")

func TestKeyItems(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	k, r := record(t, alice, t0)
	r.ExpiresAt = t0.Add(time.Hour)
	if err := st.PutKey(ctx, r); err != nil {
		t.Fatal(err)
	}

	t.Run("an existing prefix is refused", func(t *testing.T) {
		dup := r
		dup.Owner = keys.User("mallory")
		if err := st.PutKey(ctx, dup); !errors.Is(err, keys.ErrPrefixTaken) {
			t.Fatalf("got %v, want ErrPrefixTaken", err)
		}
	})
	t.Run("get returns what was put", func(t *testing.T) {
		got, err := st.GetKey(ctx, r.Prefix)
		if err != nil {
			t.Fatal(err)
		}
		if got != r || !k.Matches(got.Hash) {
			t.Fatalf("got %+v\nwant %+v", got, r)
		}
	})
	t.Run("an unknown prefix is ErrNotFound", func(t *testing.T) {
		if _, err := st.GetKey(ctx, "csk_live_00000000"); !errors.Is(err, keys.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("a key id resolves to its prefix", func(t *testing.T) {
		if err := st.PutKeyID(ctx, r.ID, r.Prefix); err != nil {
			t.Fatal(err)
		}
		if p, err := st.KeyPrefix(ctx, r.ID); err != nil || p != r.Prefix {
			t.Fatalf("%q %v", p, err)
		}
		if _, err := st.KeyPrefix(ctx, "00000000-0000-4000-8000-000000000000"); !errors.Is(err, keys.ErrNotFound) {
			t.Fatalf("unknown id: %v", err)
		}
	})
	t.Run("the key's expiry is not the table's TTL attribute", func(t *testing.T) {
		out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.Table), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "KEY#" + r.Prefix}, "sk": &types.AttributeValueMemberS{Value: "META"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := out.Item[dynamo.AttrExpiresAt]; ok {
			t.Fatal("a key item carries the TTL attribute: DynamoDB would delete it at expiry, audit trail and all")
		}
	})
	t.Run("updates apply only under their conditions", func(t *testing.T) {
		name := "renamed"
		if _, err := st.UpdateKey(ctx, r.Prefix, keys.KeyChange{Owner: keys.User("mallory"), Name: &name}); !errors.Is(err, keys.ErrConflict) {
			t.Fatalf("foreign owner: %v", err)
		}
		if _, err := st.UpdateKey(ctx, r.Prefix, keys.KeyChange{Owner: keys.Workspace("alice"), Name: &name}); !errors.Is(err, keys.ErrConflict) {
			t.Fatalf("same id, other kind: %v", err)
		}
		if _, err := st.UpdateKey(ctx, r.Prefix, keys.KeyChange{Owner: alice, NotExpiredAt: t0.Add(time.Hour), Name: &name}); !errors.Is(err, keys.ErrConflict) {
			t.Fatalf("expired at that time: %v", err)
		}
		got, err := st.UpdateKey(ctx, r.Prefix, keys.KeyChange{Owner: alice, RequireActive: true, NotExpiredAt: t0, Name: &name, UpdatedAt: t0.Add(time.Minute)})
		if err != nil || got.Name != "renamed" || !got.UpdatedAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("%+v %v", got, err)
		}
		never := time.Time{}
		if got, err := st.UpdateKey(ctx, r.Prefix, keys.KeyChange{Owner: alice, ExpiresAt: &never}); err != nil || !got.ExpiresAt.IsZero() {
			t.Fatalf("clearing the expiry: %+v %v", got, err)
		}
	})
	t.Run("a rotation claim happens once; a re-point needs the claimed successor", func(t *testing.T) {
		claim := keys.KeyChange{Owner: alice, RequireActive: true, NotRotated: true, RotatedTo: "csk_live_11111111", RotatedToID: "x"}
		if _, err := st.UpdateKey(ctx, r.Prefix, claim); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateKey(ctx, r.Prefix, claim); !errors.Is(err, keys.ErrConflict) {
			t.Fatalf("second claim: %v", err)
		}
		move := keys.KeyChange{Owner: alice, ReplaceRotatedTo: "csk_live_22222222", RotatedTo: "csk_live_33333333", RotatedToID: "y"}
		if _, err := st.UpdateKey(ctx, r.Prefix, move); !errors.Is(err, keys.ErrConflict) {
			t.Fatalf("re-point from the wrong successor: %v", err)
		}
		move.ReplaceRotatedTo = "csk_live_11111111"
		if got, err := st.UpdateKey(ctx, r.Prefix, move); err != nil || got.RotatedTo != "csk_live_33333333" || got.RotatedToID != "y" {
			t.Fatalf("%+v %v", got, err)
		}
	})
	t.Run("revoking keeps the record with its reason, once", func(t *testing.T) {
		rev := keys.KeyChange{Owner: alice, RequireActive: true, Revoke: keys.Leaked, LeakURL: "https://github.com/x/y/blob/main/z", UpdatedAt: t0.Add(time.Hour)}
		got, err := st.UpdateKey(ctx, r.Prefix, rev)
		if err != nil || got.Status != keys.Revoked || got.RevokedReason != keys.Leaked || !got.RevokedAt.Equal(t0.Add(time.Hour)) ||
			got.LeakURL != rev.LeakURL || !got.LeakedAt.Equal(t0.Add(time.Hour)) {
			t.Fatalf("%+v %v", got, err)
		}
		if _, err := st.UpdateKey(ctx, r.Prefix, rev); !errors.Is(err, keys.ErrConflict) {
			t.Fatalf("second revoke: %v", err)
		}
	})
}

func TestListKeys(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	var want []string
	bob := keys.User("bob")
	for i := range 5 {
		// Three share a second: the index still lists them newest first.
		_, r := record(t, bob, t0.Add(time.Duration(max(0, i-2))*time.Minute))
		if err := st.PutKey(ctx, r); err != nil {
			t.Fatal(err)
		}
		want = append([]string{r.Prefix}, want...)
	}
	for _, other := range []keys.Owner{keys.User("carol"), keys.Workspace("bob")} {
		_, r := record(t, other, t0)
		if err := st.PutKey(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := st.ListKeys(ctx, bob)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d keys, want %d (a workspace named like a user is another owner)", len(got), len(want))
	}
	for i, r := range got {
		if r.Prefix != want[i] {
			t.Fatalf("position %d: %s, want %s (newest first)", i, r.Prefix, want[i])
		}
		if r.Hash != (apikey.Hash{}) {
			t.Fatalf("the index projected the hash of %s", r.Prefix)
		}
		if r.ID == "" || r.Budget == "" || r.DailyLimit != 250 {
			t.Fatalf("the index lost listed attributes: %+v", r)
		}
	}
}

func TestIndexNeverHoldsHashes(t *testing.T) {
	st := testenv.Store(t)
	out, err := st.DB.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(st.Table)})
	if err != nil {
		t.Fatal(err)
	}
	p := out.Table.GlobalSecondaryIndexes[0].Projection
	if p.ProjectionType != types.ProjectionTypeInclude {
		t.Fatalf("projection %s", p.ProjectionType)
	}
	for _, a := range p.NonKeyAttributes {
		if a == "hash" {
			t.Fatal("the byOwner index projects the hash")
		}
	}
}

func TestSlots(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	dave := keys.User("dave")
	for range 3 {
		if _, err := st.ReserveSlot(ctx, dave, 3, t0); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.ReserveSlot(ctx, dave, 3, t0); !errors.Is(err, keys.ErrSlotsFull) {
		t.Fatalf("fourth slot: %v", err)
	}
	if err := st.ReleaseSlot(ctx, dave, t0); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ReserveSlot(ctx, dave, 3, t0); err != nil {
		t.Fatalf("slot after release: %v", err)
	}
	t.Run("repair is refused once the counter has moved", func(t *testing.T) {
		seen, err := st.Slots(ctx, dave)
		if err != nil || seen.Used != 3 || !seen.ChangedAt.Equal(t0) {
			t.Fatalf("slots %+v %v", seen, err)
		}
		if err := st.ReleaseSlot(ctx, dave, t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := st.RepairSlots(ctx, dave, seen, 0, t0.Add(time.Hour)); !errors.Is(err, keys.ErrSlotsFull) {
			t.Fatalf("repair over a moved counter: %v", err)
		}
		now, _ := st.Slots(ctx, dave)
		if err := st.RepairSlots(ctx, dave, now, 1, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Slots(ctx, dave); got.Used != 1 {
			t.Fatalf("after repair %+v", got)
		}
	})
	t.Run("release never goes below zero", func(t *testing.T) {
		erin := keys.User("erin")
		for range 2 {
			if err := st.ReleaseSlot(ctx, erin, t0); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.ReserveSlot(ctx, erin, 1, t0); err != nil {
			t.Fatal(err)
		}
		if _, err := st.ReserveSlot(ctx, erin, 1, t0); !errors.Is(err, keys.ErrSlotsFull) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("the tier billing set comes back with a reservation", func(t *testing.T) {
		fay := keys.Workspace("fay")
		if err := st.SetOwnerTier(ctx, fay, principal.Enterprise, t0); err != nil {
			t.Fatal(err)
		}
		info, err := st.ReserveSlot(ctx, fay, 5, t0)
		if err != nil || info.Tier != principal.Enterprise {
			t.Fatalf("%+v %v", info, err)
		}
		if got, err := st.GetOwner(ctx, fay); err != nil || got.Tier != principal.Enterprise {
			t.Fatalf("%+v %v", got, err)
		}
		if got, err := st.GetOwner(ctx, keys.User("nobody")); err != nil || got.Tier != "" {
			t.Fatalf("unknown owner: %+v %v", got, err)
		}
	})
}

const (
	p1 = "csk_live_aaaaaaaa"
	p2 = "csk_live_bbbbbbbb"
)

func budget(t *testing.T, st *dynamo.Store, limit int, day string) string {
	t.Helper()
	id, _ := keys.NewID(nil)
	b := keys.Budget{ID: id, Limit: limit, Day: day, ValidUntil: map[string]time.Time{p1: keys.NoExpiry, p2: t0.Add(time.Hour)}}
	if err := st.PutBudget(context.Background(), b); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestSpend(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)

	t.Run("one write counts, stops exactly at the stored limit under concurrency, two keys on one budget", func(t *testing.T) {
		id := budget(t, st, 20, "2026-11-25")
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			ok, hit int
		)
		for i := range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				prefix := p1
				if i%2 == 1 {
					prefix = p2
				}
				_, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: prefix, At: t0, Cost: 1})
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, keys.ErrLimitReached):
					hit++
				default:
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok != 20 || hit != 44 {
			t.Fatalf("%d counted, %d refused; want 20 and 44", ok, hit)
		}
		sp, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: p1, At: t0, Cost: 1})
		if !errors.Is(err, keys.ErrLimitReached) || sp.Limit != 20 {
			t.Fatalf("%+v %v", sp, err)
		}
	})
	t.Run("the write refuses what the budget says, whatever the caller believed", func(t *testing.T) {
		id := budget(t, st, 5, "2026-11-25")
		if _, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: p2, At: t0.Add(time.Hour), Cost: 1}); !errors.Is(err, keys.ErrExpired) {
			t.Fatalf("past its validity: %v", err)
		}
		if _, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: "csk_live_cccccccc", At: t0, Cost: 1}); !errors.Is(err, keys.ErrRevoked) {
			t.Fatalf("not in the budget: %v", err)
		}
		if _, err := st.Spend(ctx, metering.Charge{Budget: "00000000-0000-4000-8000-000000000000", Prefix: p1, At: t0, Cost: 1}); !errors.Is(err, keys.ErrNotFound) {
			t.Fatalf("no budget: %v", err)
		}
		yes := true
		if _, err := st.UpdateBudget(ctx, id, keys.BudgetChange{Suspend: &yes}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: p1, At: t0, Cost: 1}); !errors.Is(err, keys.ErrSuspended) {
			t.Fatalf("suspended: %v", err)
		}
		no := false
		if _, err := st.UpdateBudget(ctx, id, keys.BudgetChange{Suspend: &no}); err != nil {
			t.Fatal(err)
		}
		sp, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: p1, At: t0, Cost: 1})
		if err != nil || sp.Used != 1 || sp.Limit != 5 {
			t.Fatalf("restored: %+v %v", sp, err)
		}
		last, err := st.UpdateBudget(ctx, id, keys.BudgetChange{Invalidate: []string{p1}})
		if err != nil || !last[p1].Equal(t0) {
			t.Fatalf("revocation returns the last use: %v %v", last, err)
		}
		if _, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: p1, At: t0, Cost: 1}); !errors.Is(err, keys.ErrRevoked) {
			t.Fatalf("revoked: %v", err)
		}
	})
	t.Run("a lowered limit binds the very next write; a raise needs the cap", func(t *testing.T) {
		id := budget(t, st, 10, "2026-11-25")
		for range 3 {
			if _, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: p1, At: t0, Cost: 1}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := st.UpdateBudget(ctx, id, keys.BudgetChange{Limit: 3, Cap: 0}); err != nil {
			t.Fatalf("lowering needs no cap: %v", err)
		}
		if _, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: p1, At: t0, Cost: 1}); !errors.Is(err, keys.ErrLimitReached) {
			t.Fatalf("after lowering to the count: %v", err)
		}
		if _, err := st.UpdateBudget(ctx, id, keys.BudgetChange{Limit: 50, Cap: 40}); !errors.Is(err, keys.ErrConflict) {
			t.Fatalf("a raise above the cap: %v", err)
		}
		if _, err := st.UpdateBudget(ctx, id, keys.BudgetChange{Limit: 40, Cap: 40}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.UpdateBudget(ctx, id, keys.BudgetChange{Valid: map[string]time.Time{p1: keys.NoExpiry}, RequireLive: p2}); err != nil {
			t.Fatalf("require a live key: %v", err)
		}
		if _, err := st.UpdateBudget(ctx, id, keys.BudgetChange{Valid: map[string]time.Time{p1: keys.NoExpiry}, RequireLive: "csk_live_dddddddd"}); !errors.Is(err, keys.ErrConflict) {
			t.Fatalf("require a revoked key: %v", err)
		}
	})
	t.Run("a new day starts at one, keeps the old day and archives it with a TTL", func(t *testing.T) {
		id := budget(t, st, 10, "2026-11-24")
		day1 := time.Date(2026, 11, 24, 23, 0, 0, 0, time.UTC)
		for range 4 {
			if _, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: p1, At: day1, Cost: 1}); err != nil {
				t.Fatal(err)
			}
		}
		sp, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: p1, At: t0, Cost: 1})
		if err != nil || sp.Used != 1 || sp.Limit != 10 || sp.PrevDay != "2026-11-24" || sp.PrevUsed != 4 {
			t.Fatalf("first of the day: %+v %v", sp, err)
		}
		b, err := st.GetBudgets(ctx, []string{id})
		if err != nil || b[id].Day != "2026-11-25" || b[id].Used != 1 || b[id].PrevDay != "2026-11-24" || b[id].PrevUsed != 4 {
			t.Fatalf("%+v %v", b[id], err)
		}
		h, err := st.History(ctx, id, "2026-11-01", "2026-11-30")
		if err != nil || len(h) != 1 || h["2026-11-24"] != 4 {
			t.Fatalf("history %v %v", h, err)
		}
		out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(st.Table), Key: map[string]types.AttributeValue{
			"pk": &types.AttributeValueMemberS{Value: "BUDGET#" + id}, "sk": &types.AttributeValueMemberS{Value: "DAY#2026-11-24"},
		}})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := out.Item[dynamo.AttrExpiresAt].(*types.AttributeValueMemberN)
		if want := strconv.FormatInt(t0.Add(90*24*time.Hour).Unix(), 10); v == nil || v.Value != want {
			t.Fatalf("expiresAt %v, want %s", out.Item[dynamo.AttrExpiresAt], want)
		}
		// The day's next write returns the previous day too: a usage report
		// needs no read of the budget.
		if sp, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: p1, At: t0, Cost: 1}); err != nil || sp.Used != 2 || sp.PrevDay != "2026-11-24" || sp.PrevUsed != 4 {
			t.Fatalf("second of the day: %+v %v", sp, err)
		}
	})
	t.Run("the first requests of a day race to one rollover and count exactly", func(t *testing.T) {
		id := budget(t, st, 7, "2026-11-24")
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok := 0
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.Spend(ctx, metering.Charge{Budget: id, Prefix: p1, At: t0, Cost: 1})
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					ok++
				} else if !errors.Is(err, keys.ErrLimitReached) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if ok != 7 {
			t.Fatalf("%d counted, want 7", ok)
		}
	})
}

func TestUnreachableStoreIsUnavailable(t *testing.T) {
	db, err := dynamo.NewClient(context.Background(), "http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	st := dynamo.New(db, "nowhere")
	_, err = st.GetKey(context.Background(), "csk_live_00000000")
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != apierr.ServiceUnavailable {
		t.Fatalf("got %v, want ServiceUnavailable", err)
	}
}

// TestStalledStoreAnswersWithinTheDeadline: a server that accepts the
// connection and never answers (a stopped process) is 503 after the
// store's deadline, not a hang.
func TestStalledStoreAnswersWithinTheDeadline(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open, never answered
		}
	}()
	db, err := dynamo.NewClient(context.Background(), "http://"+l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	st := dynamo.New(db, "stalled")
	st.Timeout = 300 * time.Millisecond
	start := time.Now()
	_, err = st.Spend(context.Background(), metering.Charge{Budget: "b", Prefix: p1, At: t0, Cost: 1})
	took := time.Since(start)
	var e *apierr.Error
	if !errors.As(err, &e) || e.Code != apierr.ServiceUnavailable {
		t.Fatalf("got %v, want ServiceUnavailable", err)
	}
	if took > 2*time.Second {
		t.Fatalf("answered after %v with a 300 ms deadline", took)
	}
}
