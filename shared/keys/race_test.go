package keys_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/dynamo"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/principal"
)

// hook pauses chosen store calls so two service calls interleave the way two
// Lambdas can.
type hook struct {
	*dynamo.Store
	mu       sync.Mutex
	onBudget func(id string, c keys.BudgetChange)
}

func (h *hook) UpdateBudget(ctx context.Context, id string, c keys.BudgetChange) (map[string]time.Time, error) {
	h.mu.Lock()
	f := h.onBudget
	h.mu.Unlock()
	if f != nil {
		f(id, c)
	}
	return h.Store.UpdateBudget(ctx, id, c)
}

func hooked(t *testing.T) (*keys.Service, *hook, *clock.Fixed) {
	limits := config.DefaultLimits()
	limits.MaxActiveKeys = 3
	h := &hook{Store: testenv.Store(t)}
	clk := clock.NewFixed(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	return &keys.Service{Store: h, Clock: clk, Limits: limits}, h, clk
}

// PATCH expiresAt:null racing a rotation must not let the rotated
// predecessor outlive its grace period (found by review: it lived forever).
func TestRacePatchExpiryVsRotate(t *testing.T) {
	ctx := context.Background()
	svc, h, clk := hooked(t)
	o := keys.User(alice.Sub)
	k, err := svc.Create(ctx, alice, o, keys.CreateInput{Name: ptr("k"), ExpiresAt: ptr("2027-01-01T00:00:00Z")})
	if err != nil {
		t.Fatal(err)
	}
	prefix := k.Key.Prefix
	gate, paused := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.onBudget = func(id string, c keys.BudgetChange) {
		if c.RequireLive == prefix && len(c.Valid) == 1 { // PATCH's expiry write
			once.Do(func() { close(paused); <-gate })
		}
	}
	done := make(chan error)
	go func() {
		_, err := svc.Update(ctx, alice, o, keys.Ref{Prefix: prefix}, keys.UpdateInput{ClearExpiry: true})
		done <- err
	}()
	<-paused
	rot, err := svc.Rotate(ctx, alice, o, keys.Ref{Prefix: prefix}, keys.RotateInput{GraceSeconds: ptr(60)})
	if err != nil {
		t.Fatal(err)
	}
	close(gate)
	if err := <-done; err != nil && code(err) != "Conflict" {
		t.Fatalf("PATCH: %v, want success or 409", err)
	}
	rec, err := svc.Store.GetKey(ctx, prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("predecessor record: rotatedTo=%s expiresAt=%v", rec.RotatedTo, rec.ExpiresAt)
	later := clk.Now().Add(30 * 24 * time.Hour)
	if _, err := spend(ctx, h.Store, rot.Predecessor.Budget, prefix, later); !errors.Is(err, keys.ErrExpired) {
		t.Errorf("rotated predecessor (grace 60 s) metered 30 days later: %v, want ErrExpired", err)
	}
}

// DELETE racing a rotation of the same key must not give back the slot the
// successor took over (found by review: the cap could be passed).
func TestRaceRevokeVsRotateSlots(t *testing.T) {
	ctx := context.Background()
	svc, h, _ := hooked(t)
	o := keys.User(alice.Sub)
	k, err := svc.Create(ctx, alice, o, keys.CreateInput{Name: ptr("k")})
	if err != nil {
		t.Fatal(err)
	}
	prefix := k.Key.Prefix
	gate, paused := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.onBudget = func(id string, c keys.BudgetChange) {
		if len(c.Invalidate) == 1 && c.Invalidate[0] == prefix && len(c.Valid) == 0 { // revoke's write
			once.Do(func() { close(paused); <-gate })
		}
	}
	done := make(chan error)
	go func() { done <- svc.Revoke(ctx, alice, o, keys.Ref{Prefix: prefix}) }()
	<-paused
	if _, err := svc.Rotate(ctx, alice, o, keys.Ref{Prefix: prefix}, keys.RotateInput{}); err != nil {
		t.Fatal(err)
	}
	close(gate)
	if err := <-done; err != nil {
		t.Fatalf("revoke: %v", err)
	}
	h.onBudget = nil
	for i := range 3 {
		// The cap may refuse some (403); anything else is a failure.
		if _, err := svc.Create(ctx, alice, o, keys.CreateInput{Name: ptr("more")}); err != nil && code(err) != apierr.Forbidden {
			t.Fatalf("create %d: %v", i, err)
		}
	}
	list, err := svc.List(ctx, o, keys.Filter(keys.Active))
	if err != nil {
		t.Fatal(err)
	}
	held := 0
	for _, k := range list {
		if k.HoldsSlot(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)) {
			held++
		}
	}
	if held > 3 {
		t.Errorf("%d active slot-holding keys with a cap of 3", held)
	}
}

var _ = principal.Pro

type hook2 struct {
	*dynamo.Store
	onPutBudget func()
}

func (h *hook2) PutBudget(ctx context.Context, b keys.Budget) error {
	if h.onPutBudget != nil {
		h.onPutBudget()
	}
	return h.Store.PutBudget(ctx, b)
}

// keygate-admin setting the owner to free while a create is in flight: the
// create takes its key back and answers 403 (found by review: the key worked
// on the free tier).
func TestRaceSetTierVsCreate(t *testing.T) {
	ctx := context.Background()
	limits := config.DefaultLimits()
	h := &hook2{Store: testenv.Store(t)}
	clk := clock.NewFixed(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	svc := &keys.Service{Store: h, Clock: clk, Limits: limits}
	o := keys.User(alice.Sub)
	gate, paused := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.onPutBudget = func() { once.Do(func() { close(paused); <-gate }) }
	done := make(chan keys.Created)
	go func() {
		c, err := svc.Create(ctx, alice, o, keys.CreateInput{Name: ptr("k")})
		if err != nil && code(err) != "Forbidden" {
			t.Error(err)
		}
		done <- c
	}()
	<-paused
	if _, err := svc.SetTier(ctx, o, principal.Free); err != nil {
		t.Fatal(err)
	}
	close(gate)
	c := <-done
	list, err := svc.List(ctx, o, keys.Filter(keys.Active))
	if err != nil || len(list) != 0 {
		t.Fatalf("active keys after the downgrade: %d (%v)", len(list), err)
	}
	if c.Key.Prefix == "" {
		return
	}
	if _, err := h.Store.Spend(ctx, metering.Charge{Budget: c.Key.Budget, Prefix: c.Key.Prefix, At: clk.Now(), Cost: 1}); err == nil {
		t.Errorf("key created across a downgrade to free is not suspended")
	}
}

// PATCH raising the limit while keygate-admin lowers the owner's tier: the
// raise is checked against the old tier's cap and lands after the lowering.
func TestRacePatchRaiseVsSetTier(t *testing.T) {
	ctx := context.Background()
	svc, h, _ := hooked(t)
	o := keys.User(alice.Sub)
	teamAlice := alice
	teamAlice.Tier = principal.Team
	if _, err := svc.SetTier(ctx, o, principal.Team); err != nil {
		t.Fatal(err)
	}
	k, err := svc.Create(ctx, teamAlice, o, keys.CreateInput{Name: ptr("k")})
	if err != nil {
		t.Fatal(err)
	}
	gate, paused := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.onBudget = func(id string, c keys.BudgetChange) {
		if c.Limit > 0 {
			once.Do(func() { close(paused); <-gate })
		}
	}
	done := make(chan error)
	go func() {
		_, err := svc.Update(ctx, teamAlice, o, keys.Ref{Prefix: k.Key.Prefix}, keys.UpdateInput{DailyLimit: ptr(50_000)})
		done <- err
	}()
	<-paused
	if _, err := svc.SetTier(ctx, o, principal.Pro); err != nil {
		t.Fatal(err)
	}
	close(gate)
	// The raise was checked against the team cap and reaches the budget
	// after the lowering: it must be refused there (403 naming the cap).
	if err := <-done; code(err) != apierr.Forbidden {
		t.Fatalf("PATCH to 50000 across a downgrade to pro: %v, want 403", err)
	}
	got, err := svc.Lookup(ctx, k.Key.Prefix)
	if err != nil {
		t.Fatal(err)
	}
	if got.DailyLimit > 10_000 {
		t.Errorf("limit %d on the pro tier (cap 10000)", got.DailyLimit)
	}
}

// Chained rotation: every successor can be rotated at once; live keys (and
// the budget item the meter rewrites) must not grow with the chain during
// the grace: a lineage has at most two live keys.
func TestRaceChainedRotation(t *testing.T) {
	ctx := context.Background()
	svc, _, _ := hooked(t)
	o := keys.User(alice.Sub)
	k, err := svc.Create(ctx, alice, o, keys.CreateInput{Name: ptr("k")})
	if err != nil {
		t.Fatal(err)
	}
	prefix := k.Key.Prefix
	for range 60 {
		r, err := svc.Rotate(ctx, alice, o, keys.Ref{Prefix: prefix}, keys.RotateInput{GraceSeconds: ptr(86400)})
		if err != nil {
			t.Fatal(err)
		}
		prefix = r.Key.Prefix
	}
	list, err := svc.List(ctx, o, keys.Filter(keys.Active))
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.Store.GetBudgets(ctx, []string{k.Key.Budget})
	if err != nil {
		t.Fatal(err)
	}
	live := len(b[k.Key.Budget].ValidUntil)
	t.Logf("active keys listed: %d (cap 3); live entries in one budget item: %d", len(list), live)
	if len(list) > 2 || live > 2 {
		t.Fatalf("after 60 chained rotations: %d active keys listed, %d live in the budget; want at most two per lineage", len(list), live)
	}
	if len(list) != 2 || list[0].Prefix != prefix {
		t.Fatalf("want the newest successor and its predecessor in grace listed, got %d keys", len(list))
	}
}

// Every store call answering just inside its own deadline: one request takes
// longer than the route Lambda's 10 s timeout.
// With every store call slow, a rotation (eight calls) and a PATCH stop at
// the request's deadline with a 503, not at the Lambda's timeout (found by
// review: 10.9 s for a 10 s Lambda).
func TestRaceRequestDeadline(t *testing.T) {
	var slow atomic.Bool
	st := testenv.Store(t, func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("slow",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					if slow.Load() {
						select {
						case <-time.After(300 * time.Millisecond):
						case <-ctx.Done():
							return middleware.InitializeOutput{}, middleware.Metadata{}, ctx.Err()
						}
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
	})
	st.Timeout = 2 * time.Second
	svc := &keys.Service{Store: st, Clock: clock.NewFixed(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)), Limits: config.DefaultLimits()}
	o := keys.User(alice.Sub)
	k, err := svc.Create(context.Background(), alice, o, keys.CreateInput{Name: ptr("k")})
	if err != nil {
		t.Fatal(err)
	}
	slow.Store(true)
	// A Lambda's context carries its deadline; the adapter keeps a margin.
	lambdaCtx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	ctx, stop := lambdahttp.WithinLambdaDeadline(lambdaCtx)
	defer stop()
	start := time.Now()
	_, err = svc.Rotate(ctx, alice, o, keys.Ref{Prefix: k.Key.Prefix}, keys.RotateInput{})
	if took := time.Since(start); code(err) != "ServiceUnavailable" || took > time.Second {
		t.Fatalf("rotate: %v after %v, want 503 within the 1 s deadline", err, took)
	}
}

// A store failure after the claim: the client's retry finishes the rotation
// with a successor that works (found by review: the retry was 409 forever).
func TestRaceRotateNotRetrySafe(t *testing.T) {
	ctx := context.Background()
	probe := &testenv.Probe{}
	st := testenv.Store(t, probe.Option())
	svc := &keys.Service{Store: st, Clock: clock.NewFixed(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)), Limits: config.DefaultLimits()}
	o := keys.User(alice.Sub)
	k, err := svc.Create(ctx, alice, o, keys.CreateInput{Name: ptr("k")})
	if err != nil {
		t.Fatal(err)
	}
	probe.Fail("PutItem", true)
	_, err = svc.Rotate(ctx, alice, o, keys.Ref{Prefix: k.Key.Prefix}, keys.RotateInput{})
	t.Logf("first rotate: %s %v", code(err), err)
	probe.Fail("PutItem", false)
	if code(err) != "ServiceUnavailable" {
		t.Fatalf("first rotate: %v, want 503", err)
	}
	rot, err := svc.Rotate(ctx, alice, o, keys.Ref{Prefix: k.Key.Prefix}, keys.RotateInput{})
	if err != nil {
		t.Fatalf("retry: %v", err)
	}
	r, _ := st.GetKey(ctx, k.Key.Prefix)
	if r.RotatedTo != rot.Key.Prefix {
		t.Fatalf("old key rotatedTo %s, successor %s", r.RotatedTo, rot.Key.Prefix)
	}
	if _, err := st.Spend(ctx, metering.Charge{Budget: rot.Key.Budget, Prefix: rot.Key.Prefix, At: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC), Cost: 1}); err != nil {
		t.Fatalf("the successor does not work: %v", err)
	}
	if _, err := svc.Rotate(ctx, alice, o, keys.Ref{Prefix: k.Key.Prefix}, keys.RotateInput{}); code(err) != "Conflict" {
		t.Fatalf("a finished rotation rotated again: %v", err)
	}
}

// works fails t unless key authenticates and its budget admits a request at
// now: what the authorizer and the meter ask of a key.
func works(t *testing.T, svc *keys.Service, st *dynamo.Store, c keys.Created, now time.Time) {
	t.Helper()
	ctx := context.Background()
	if _, err := svc.Authenticate(ctx, c.Secret); err != nil {
		t.Fatalf("key %s does not authenticate: %v", c.Key.Prefix, err)
	}
	if _, err := spend(ctx, st, c.Key.Budget, c.Key.Prefix, now); err != nil {
		t.Fatalf("key %s is not admitted by its budget: %v", c.Key.Prefix, err)
	}
}

// spend meters one request of prefix on budget at now.
func spend(ctx context.Context, st *dynamo.Store, budget, prefix string, now time.Time) (any, error) {
	return st.Spend(ctx, metering.Charge{Budget: budget, Prefix: prefix, At: now, Cost: 1})
}

// Many rotations of one key from real goroutines, released a few
// milliseconds apart so that later ones arrive while earlier ones are
// between their writes: exactly one succeeds, the others are 409, and the
// successor works (found by hostile testing: two or more succeeded, and all
// but the last successor were dead on arrival).
func TestRaceConcurrentRotationsOneWins(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	clk := clock.NewFixed(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
	svc := &keys.Service{Store: st, Clock: clk, Limits: config.DefaultLimits()}
	o := keys.User(alice.Sub)
	for round := range 5 {
		k, err := svc.Create(ctx, alice, o, keys.CreateInput{Name: ptr("k")})
		if err != nil {
			t.Fatal(err)
		}
		const n = 12
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			won   []keys.Rotated
			codes = map[apierr.Code]int{}
			start = make(chan struct{})
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				time.Sleep(time.Duration(i) * time.Millisecond)
				r, err := svc.Rotate(ctx, alice, o, keys.Ref{Prefix: k.Key.Prefix}, keys.RotateInput{GraceSeconds: ptr(600)})
				mu.Lock()
				defer mu.Unlock()
				codes[code(err)]++
				if err == nil {
					won = append(won, r)
				}
			}()
		}
		close(start)
		wg.Wait()
		if len(won) != 1 || codes[apierr.Conflict] != n-1 {
			t.Fatalf("round %d: %d concurrent rotations answered %v (\"\": success), want one success and %d Conflict", round, n, codes, n-1)
		}
		works(t, svc, st, won[0].Created, clk.Now())
		works(t, svc, st, k, clk.Now()) // the predecessor, in its grace
	}
}

// pausing pauses one chosen store call of a service so a test can run
// another request in the gap, as a second Lambda would.
type pausing struct {
	*dynamo.Store
	mu                       sync.Mutex
	beforePutKey, beforeVoid func()
}

// await waits for ch, at most 5 s: a hook never hangs a test whose code
// under test takes another path (the test then fails on what it got).
func await(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	case <-time.After(5 * time.Second):
		return false
	}
}

func (p *pausing) take(f *func()) func() {
	p.mu.Lock()
	defer p.mu.Unlock()
	g := *f
	*f = nil
	return g
}

func (p *pausing) PutKey(ctx context.Context, r keys.Record) error {
	if f := p.take(&p.beforePutKey); f != nil {
		f()
	}
	return p.Store.PutKey(ctx, r)
}

func (p *pausing) VoidPrefix(ctx context.Context, prefix string, now time.Time) error {
	if f := p.take(&p.beforeVoid); f != nil {
		f()
	}
	return p.Store.VoidPrefix(ctx, prefix, now)
}

// A rotation whose claim is written but whose successor is not, and a
// second rotation (a double click, or a client retrying after a 503) taking
// it over: whichever writes the successor's slot first wins, and the other
// answers 409, in both orders.
func TestRaceRotationTakenOverInFlight(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*keys.Service, *pausing, keys.Created) {
		p := &pausing{Store: testenv.Store(t)}
		svc := &keys.Service{Store: p, Clock: clock.NewFixed(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)), Limits: config.DefaultLimits()}
		k, err := svc.Create(ctx, alice, keys.User(alice.Sub), keys.CreateInput{Name: ptr("k")})
		if err != nil {
			t.Fatal(err)
		}
		return svc, p, k
	}
	rotate := func(svc *keys.Service, k keys.Created) (keys.Rotated, error) {
		return svc.Rotate(ctx, alice, keys.User(alice.Sub), keys.Ref{Prefix: k.Key.Prefix}, keys.RotateInput{})
	}
	type result struct {
		r   keys.Rotated
		err error
	}

	t.Run("the later request voids the successor first: it wins, the first gets 409", func(t *testing.T) {
		svc, p, k := setup(t)
		paused, gate := make(chan struct{}), make(chan struct{})
		p.beforePutKey = func() { close(paused); await(gate) }
		first := make(chan result, 1)
		go func() { r, err := rotate(svc, k); first <- result{r, err} }()
		if !await(paused) { // the first rotation's claim and budget are written, its record is not
			t.Fatal("the first rotation never reached its record write")
		}
		second, err := rotate(svc, k)
		if err != nil {
			t.Fatalf("the rotation taking over: %v", err)
		}
		close(gate)
		got := <-first
		if code(got.err) != apierr.Conflict {
			t.Fatalf("the rotation taken over answered %v, want 409", got.err)
		}
		works(t, svc, p.Store, second.Created, svc.Clock.Now())
		rec, err := p.Store.GetKey(ctx, k.Key.Prefix)
		if err != nil || rec.RotatedTo != second.Key.Prefix {
			t.Fatalf("the old key names successor %q (%v), the winner is %s", rec.RotatedTo, err, second.Key.Prefix)
		}
	})

	t.Run("the first request writes its successor first: it wins, the later gets 409", func(t *testing.T) {
		svc, p, k := setup(t)
		claimed, voiding, gate := make(chan struct{}), make(chan struct{}), make(chan struct{})
		// The first request, claim and budget written, waits to write its
		// record until the second has read the claim without a record and
		// is about to void it; the second waits there until the first is
		// done.
		p.beforePutKey = func() { close(claimed); await(voiding) }
		p.beforeVoid = func() { close(voiding); await(gate) }
		first, second := make(chan result, 1), make(chan result, 1)
		go func() { r, err := rotate(svc, k); first <- result{r, err} }()
		if !await(claimed) {
			t.Fatal("the first rotation never reached its record write")
		}
		go func() { r, err := rotate(svc, k); second <- result{r, err} }()
		f := <-first
		close(gate)
		s := <-second
		if f.err != nil {
			t.Fatalf("the first rotation: %v", f.err)
		}
		if code(s.err) != apierr.Conflict {
			t.Fatalf("the later rotation answered %v, want 409", s.err)
		}
		works(t, svc, p.Store, f.r.Created, svc.Clock.Now())
	})
}
