package metering_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/principal"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestLastUsedAtIsWrittenOncePerMinuteUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	probe := &testenv.Probe{}
	st := testenv.Store(t, probe.Option())
	k, _ := apikey.New()
	t0 := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	if err := st.PutKey(ctx, keys.Record{Prefix: k.Prefix(), Hash: k.Hash(), Owner: "o", Tier: principal.Pro, Name: "n", DailyLimit: 1000, Status: keys.Active, CreatedAt: t0, UpdatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFixed(t0)
	m := &metering.Meter{Counter: st, Clock: clk}
	p := principal.Principal{Sub: "o", Method: principal.ViaKey, KeyPrefix: k.Prefix(), DailyLimit: 1000}
	probe.Calls()

	burst := func() {
		var wg sync.WaitGroup
		for range 50 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := m.Count(ctx, p); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
	}
	burst()
	if got := probe.Calls()["UpdateItem"]; got != 51 {
		t.Fatalf("50 requests with a stale lastUsedAt made %d UpdateItems, want 50 counts + 1 lastUsedAt", got)
	}
	clk.Advance(30 * time.Second)
	burst()
	if got := probe.Calls()["UpdateItem"]; got != 50 {
		t.Fatalf("within the minute: %d UpdateItems, want 50", got)
	}
	clk.Advance(31 * time.Second)
	burst()
	if got := probe.Calls()["UpdateItem"]; got != 51 {
		t.Fatalf("after the minute: %d UpdateItems, want 51", got)
	}
	rec, _ := st.GetKey(ctx, k.Prefix())
	if !rec.LastUsedAt.Equal(clk.Now()) {
		t.Fatalf("lastUsedAt %v, want %v", rec.LastUsedAt, clk.Now())
	}
}

func TestQuota(t *testing.T) {
	ctx := context.Background()
	clk := clock.NewFixed(time.Date(2026, 11, 25, 22, 30, 0, 0, time.UTC))
	m := &metering.Meter{Counter: testenv.Store(t), Clock: clk}
	p := principal.Principal{Sub: "o", Method: principal.ViaKey, KeyPrefix: "csk_live_12345678", DailyLimit: 2, LastUsedAt: clk.Now()}
	for i, want := range []int{1, 0} {
		q, err := m.Count(ctx, p)
		if err != nil || q.Remaining != want || q.Used != i+1 || !q.Reset.Equal(time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)) {
			t.Fatalf("request %d: %+v %v", i+1, q, err)
		}
	}
	q, err := m.Count(ctx, p)
	var e *apierr.Error
	if !asAPI(err, &e) || e.Code != apierr.RateLimitExceeded || q.Remaining != 0 || q.Limit != 2 {
		t.Fatalf("third request: %+v %v", q, err)
	}
}

func asAPI(err error, e **apierr.Error) bool {
	x, ok := err.(*apierr.Error)
	*e = x
	return ok
}
