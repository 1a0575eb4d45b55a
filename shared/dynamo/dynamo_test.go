package dynamo_test

import (
	"context"
	"errors"
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
	"github.com/keygate/keygate/shared/principal"
)

func TestMain(m *testing.M) { testenv.Main(m) }

var t0 = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

func record(t *testing.T, owner string, created time.Time) (apikey.Key, keys.Record) {
	t.Helper()
	k, err := apikey.New()
	if err != nil {
		t.Fatal(err)
	}
	return k, keys.Record{
		Prefix: k.Prefix(), Hash: k.Hash(), Owner: owner, Tier: principal.Pro, TeamID: "team-1",
		Name: "n", DailyLimit: 250, Status: keys.Active, CreatedAt: created, UpdatedAt: created,
	}
}

func TestKeyItems(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	k, r := record(t, "alice", t0)
	if err := st.PutKey(ctx, r); err != nil {
		t.Fatal(err)
	}

	t.Run("an existing prefix is refused", func(t *testing.T) {
		dup := r
		dup.Owner = "mallory"
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
	t.Run("unknown prefix is ErrNotFound", func(t *testing.T) {
		if _, err := st.GetKey(ctx, "csk_live_00000000"); !errors.Is(err, keys.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("update of a foreign key is ErrNotFound", func(t *testing.T) {
		name := "stolen"
		if _, err := st.UpdateKey(ctx, "mallory", r.Prefix, keys.Patch{Name: &name}, t0); !errors.Is(err, keys.ErrNotFound) {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("update changes only what is given", func(t *testing.T) {
		limit := 7
		got, err := st.UpdateKey(ctx, "alice", r.Prefix, keys.Patch{DailyLimit: &limit, Tier: principal.Team}, t0.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if got.DailyLimit != 7 || got.Name != "n" || !got.UpdatedAt.Equal(t0.Add(time.Hour)) || !got.CreatedAt.Equal(t0) {
			t.Fatalf("got %+v", got)
		}
		if got.Tier != principal.Team || got.TeamID != "" {
			t.Fatalf("the owner's current tier and team were not copied: %+v", got)
		}
	})
	t.Run("revoke keeps the item with status and revokedAt", func(t *testing.T) {
		if err := st.RevokeKey(ctx, "mallory", r.Prefix, t0); !errors.Is(err, keys.ErrNotFound) {
			t.Fatalf("foreign revoke: %v", err)
		}
		if err := st.RevokeKey(ctx, "alice", r.Prefix, t0.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, err := st.GetKey(ctx, r.Prefix)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != keys.Revoked || !got.RevokedAt.Equal(t0.Add(2*time.Hour)) {
			t.Fatalf("got %+v", got)
		}
		if err := st.RevokeKey(ctx, "alice", r.Prefix, t0); !errors.Is(err, keys.ErrNotFound) {
			t.Fatalf("second revoke: %v", err)
		}
		name := "x"
		if _, err := st.UpdateKey(ctx, "alice", r.Prefix, keys.Patch{Name: &name}, t0); !errors.Is(err, keys.ErrNotFound) {
			t.Fatalf("update of revoked key: %v", err)
		}
	})
}

func TestListKeys(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	var want []string
	for i := range 5 {
		_, r := record(t, "bob", t0.Add(time.Duration(i)*time.Minute))
		if err := st.PutKey(ctx, r); err != nil {
			t.Fatal(err)
		}
		want = append([]string{r.Prefix}, want...)
	}
	_, other := record(t, "carol", t0)
	if err := st.PutKey(ctx, other); err != nil {
		t.Fatal(err)
	}
	got, err := st.ListKeys(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("listed %d keys, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.Prefix != want[i] {
			t.Fatalf("position %d: %s, want %s (newest first)", i, r.Prefix, want[i])
		}
		if r.Hash != (apikey.Hash{}) {
			t.Fatalf("the index projected the hash of %s", r.Prefix)
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
	for range 3 {
		if err := st.ReserveSlot(ctx, "dave", 3, t0); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.ReserveSlot(ctx, "dave", 3, t0); !errors.Is(err, keys.ErrSlotsFull) {
		t.Fatalf("fourth slot: %v", err)
	}
	if err := st.ReleaseSlot(ctx, "dave", t0); err != nil {
		t.Fatal(err)
	}
	if err := st.ReserveSlot(ctx, "dave", 3, t0); err != nil {
		t.Fatalf("slot after release: %v", err)
	}
	t.Run("repair is refused once the counter has moved", func(t *testing.T) {
		seen, err := st.Slots(ctx, "dave")
		if err != nil || seen.Used != 3 || !seen.ChangedAt.Equal(t0) {
			t.Fatalf("slots %+v %v", seen, err)
		}
		if err := st.ReleaseSlot(ctx, "dave", t0.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := st.RepairSlots(ctx, "dave", seen, 0, t0.Add(time.Hour)); !errors.Is(err, keys.ErrSlotsFull) {
			t.Fatalf("repair over a moved counter: %v", err)
		}
		now, _ := st.Slots(ctx, "dave")
		if err := st.RepairSlots(ctx, "dave", now, 1, t0.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if got, _ := st.Slots(ctx, "dave"); got.Used != 1 {
			t.Fatalf("after repair %+v", got)
		}
	})
	t.Run("release never goes below zero", func(t *testing.T) {
		for range 2 {
			if err := st.ReleaseSlot(ctx, "erin", t0); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.ReserveSlot(ctx, "erin", 1, t0); err != nil {
			t.Fatal(err)
		}
		if err := st.ReserveSlot(ctx, "erin", 1, t0); !errors.Is(err, keys.ErrSlotsFull) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestCounters(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	exp := t0.Add(90 * 24 * time.Hour)

	t.Run("increment stops exactly at the limit under concurrency", func(t *testing.T) {
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			ok, hit int
		)
		for range 64 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := st.Increment(ctx, "csk_live_aaaaaaaa", "2026-11-25", 20, exp)
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
	})
	t.Run("the counter item carries the TTL", func(t *testing.T) {
		out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
			TableName: aws.String(st.Table),
			Key: map[string]types.AttributeValue{
				"pk": &types.AttributeValueMemberS{Value: "KEY#csk_live_aaaaaaaa"},
				"sk": &types.AttributeValueMemberS{Value: "DAY#2026-11-25"},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		v, _ := out.Item[dynamo.AttrExpiresAt].(*types.AttributeValueMemberN)
		if v == nil || v.Value != strconv.FormatInt(exp.Unix(), 10) {
			t.Fatalf("expiresAt %v, want %d", out.Item[dynamo.AttrExpiresAt], exp.Unix())
		}
	})
	t.Run("a new day starts at zero", func(t *testing.T) {
		n, err := st.Increment(ctx, "csk_live_aaaaaaaa", "2026-11-26", 20, exp)
		if err != nil || n != 1 {
			t.Fatalf("got %d, %v", n, err)
		}
	})
	t.Run("history reads a range of days with one query", func(t *testing.T) {
		h, err := st.History(ctx, "csk_live_aaaaaaaa", "2026-11-01", "2026-11-30")
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != 2 || h["2026-11-25"] != 20 || h["2026-11-26"] != 1 {
			t.Fatalf("history %v", h)
		}
	})
	t.Run("lastUsedAt is written only when stale and never creates an item", func(t *testing.T) {
		_, r := record(t, "frank", t0)
		if err := st.PutKey(ctx, r); err != nil {
			t.Fatal(err)
		}
		now := t0.Add(time.Hour)
		if err := st.TouchLastUsed(ctx, r.Prefix, now, now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
		if err := st.TouchLastUsed(ctx, r.Prefix, now.Add(30*time.Second), now.Add(-30*time.Second)); err != nil {
			t.Fatal(err)
		}
		got, _ := st.GetKey(ctx, r.Prefix)
		if !got.LastUsedAt.Equal(now) {
			t.Fatalf("lastUsedAt %v, want %v (the fresh value kept)", got.LastUsedAt, now)
		}
		if err := st.TouchLastUsed(ctx, "csk_live_bbbbbbbb", now, now); err != nil {
			t.Fatal(err)
		}
		if _, err := st.GetKey(ctx, "csk_live_bbbbbbbb"); !errors.Is(err, keys.ErrNotFound) {
			t.Fatalf("touch created an item: %v", err)
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
