package dynamo_test

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/shared/dynamo"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/metering"
)

// TestAdmission: every rule of the meter's one write, and what a refusal
// says, on the store itself.
func TestAdmission(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	home := netip.MustParseAddr("10.1.2.3")
	away := netip.MustParseAddr("192.0.2.7")
	limited := func(t *testing.T, limit int) string {
		t.Helper()
		id, _ := keys.NewID(nil)
		b := keys.Budget{ID: id, Limit: limit, Day: "2026-11-25", ValidUntil: map[string]time.Time{p1: keys.NoExpiry, p2: keys.NoExpiry},
			Scopes: map[string]string{p1: "reports:read usage:read"}, AllowedIPs: map[string]string{p1: "10.0.0.0/8"}}
		if err := st.PutBudget(ctx, b); err != nil {
			t.Fatal(err)
		}
		return id
	}
	charge := func(id, prefix, scope string, cost int, from netip.Addr, ips string) metering.Charge {
		return metering.Charge{Budget: id, Prefix: prefix, Cost: cost, Scope: scope, From: from, AllowedIPs: ips, At: t0}
	}

	t.Run("a route's cost is taken whole or not at all", func(t *testing.T) {
		id := limited(t, 12)
		for _, want := range []int{7, 2} {
			sp, err := st.Spend(ctx, charge(id, p2, "", 5, away, ""))
			if err != nil || sp.Room != want || sp.Used != 12-want {
				t.Fatalf("%+v %v, want room %d", sp, err, want)
			}
		}
		sp, err := st.Spend(ctx, charge(id, p2, "", 5, away, ""))
		if !errors.Is(err, keys.ErrLimitReached) || sp.Room != 2 || sp.Limit != 12 {
			t.Fatalf("%+v %v", sp, err)
		}
		if sp, err := st.Spend(ctx, charge(id, p2, "", 2, away, "")); err != nil || sp.Room != 0 {
			t.Fatalf("%+v %v", sp, err)
		}
	})
	t.Run("the route's scope must be one of the key's; a key without scopes may call all", func(t *testing.T) {
		id := limited(t, 100)
		if _, err := st.Spend(ctx, charge(id, p1, "reports:read", 1, home, "10.0.0.0/8")); err != nil {
			t.Fatal(err)
		}
		sp, err := st.Spend(ctx, charge(id, p1, "reports:write", 1, home, "10.0.0.0/8"))
		if !errors.Is(err, keys.ErrScope) || sp.Scopes != "reports:read usage:read" {
			t.Fatalf("%+v %v", sp, err)
		}
		if _, err := st.Spend(ctx, charge(id, p2, "reports:write", 1, away, "")); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("networks: outside is refused with the stored list, a stale list is refreshed", func(t *testing.T) {
		id := limited(t, 100)
		sp, err := st.Spend(ctx, charge(id, p1, "", 1, away, "10.0.0.0/8"))
		if !errors.Is(err, keys.ErrNetwork) || sp.AllowedIPs != "10.0.0.0/8" {
			t.Fatalf("%+v %v", sp, err)
		}
		// The caller believed the key unrestricted (a cache older than a
		// PATCH): the write is refused, the read finds the list.
		sp, err = st.Spend(ctx, charge(id, p1, "", 1, away, ""))
		if !errors.Is(err, keys.ErrNetwork) || !sp.Read {
			t.Fatalf("%+v %v", sp, err)
		}
		// The caller believed the key limited to elsewhere (the networks
		// widened since): confirmed by a read, then counted.
		sp, err = st.Spend(ctx, charge(id, p1, "", 1, home, "172.16.0.0/12"))
		if err != nil || !sp.Read || sp.AllowedIPs != "10.0.0.0/8" || sp.Used != 1 {
			t.Fatalf("%+v %v", sp, err)
		}
		sp, err = st.Spend(ctx, charge(id, p1, "", 1, home, "10.0.0.0/8"))
		if err != nil || sp.Read || sp.Used != 2 {
			t.Fatalf("warm: %+v %v", sp, err)
		}
	})
	t.Run("a budget written before costs gets its room once", func(t *testing.T) {
		id := limited(t, 3)
		db := st.DB
		_, err := db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName:                aws.String(st.Table),
			Key:                      map[string]types.AttributeValue{dynamo.AttrPK: &types.AttributeValueMemberS{Value: "BUDGET#" + id}, dynamo.AttrSK: &types.AttributeValueMemberS{Value: "STATE"}},
			UpdateExpression:         aws.String("REMOVE #room SET #used = :u"),
			ExpressionAttributeNames: map[string]string{"#room": "room", "#used": "used"},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":u": &types.AttributeValueMemberN{Value: "1"},
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if sp, err := st.Spend(ctx, charge(id, p2, "", 1, away, "")); err != nil || sp.Used != 2 || sp.Room != 1 {
			t.Fatalf("%+v %v", sp, err)
		}
		if _, err := st.Spend(ctx, charge(id, p2, "", 2, away, "")); !errors.Is(err, keys.ErrLimitReached) {
			t.Fatalf("%v", err)
		}
	})
	t.Run("a new day starts with the request's cost", func(t *testing.T) {
		id := limited(t, 10)
		if _, err := st.Spend(ctx, charge(id, p2, "", 9, away, "")); err != nil {
			t.Fatal(err)
		}
		next := charge(id, p2, "", 6, away, "")
		next.At = t0.Add(24 * time.Hour)
		sp, err := st.Spend(ctx, next)
		if err != nil || sp.Used != 6 || sp.Room != 4 || sp.PrevUsed != 9 {
			t.Fatalf("%+v %v", sp, err)
		}
		next.Cost = 11
		next.At = t0.Add(48 * time.Hour)
		if _, err := st.Spend(ctx, next); !errors.Is(err, keys.ErrLimitReached) {
			t.Fatalf("a new day's first request above the limit: %v", err)
		}
	})
	t.Run("Check applies the rules without counting", func(t *testing.T) {
		id := limited(t, 10)
		sp, err := st.Check(ctx, charge(id, p1, "", 1, home, "10.0.0.0/8"))
		if err != nil || sp.Limit != 10 || sp.Room != 10 {
			t.Fatalf("%+v %v", sp, err)
		}
		if _, err := st.Check(ctx, charge(id, p1, "", 1, away, "10.0.0.0/8")); !errors.Is(err, keys.ErrNetwork) {
			t.Fatal(err)
		}
		if _, err := st.Check(ctx, charge(id, p1, "reports:write", 1, home, "10.0.0.0/8")); !errors.Is(err, keys.ErrScope) {
			t.Fatal(err)
		}
	})
}
