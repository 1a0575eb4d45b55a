package deadline_test

import (
	"context"
	"testing"
	"time"

	"github.com/keygate/keygate/shared/deadline"
)

func TestCall(t *testing.T) {
	const timeout = 2 * time.Second
	within := func(t *testing.T, ctx context.Context, want time.Time) {
		t.Helper()
		dl, ok := ctx.Deadline()
		if !ok {
			t.Fatal("no deadline")
		}
		if d := dl.Sub(want); d < -50*time.Millisecond || d > 50*time.Millisecond {
			t.Fatalf("deadline %v off by %v", dl, d)
		}
	}
	t.Run("an unmarked context gives each call its own timeout", func(t *testing.T) {
		ctx := context.Background()
		for range 2 {
			c, cancel := deadline.Call(ctx, timeout)
			within(t, c, time.Now().Add(timeout))
			cancel()
		}
	})
	t.Run("a marked request's calls share one timeout plus the margin from its first call", func(t *testing.T) {
		const short = 200 * time.Millisecond
		ctx := deadline.Share(context.Background())
		start := time.Now()
		c, cancel := deadline.Call(ctx, short)
		within(t, c, start.Add(short))
		<-c.Done() // the first call times out
		cancel()
		// A clean-up call after it gets what is left of the margin, not a
		// full timeout of its own.
		time.Sleep(deadline.Margin - 100*time.Millisecond)
		c, cancel = deadline.Call(ctx, short)
		within(t, c, start.Add(short+deadline.Margin))
		cancel()
	})
	t.Run("a call after the budget is spent ends at once", func(t *testing.T) {
		ctx := deadline.Share(context.Background())
		c, cancel := deadline.Call(ctx, 10*time.Millisecond)
		cancel()
		time.Sleep(10*time.Millisecond + deadline.Margin + 20*time.Millisecond)
		c, cancel = deadline.Call(ctx, 10*time.Millisecond)
		defer cancel()
		if c.Err() == nil {
			t.Fatal("a call past the request's budget still has time")
		}
	})
	t.Run("sharing twice keeps the outer budget", func(t *testing.T) {
		const short = 100 * time.Millisecond
		ctx := deadline.Share(context.Background())
		start := time.Now()
		_, cancel := deadline.Call(ctx, short)
		cancel()
		inner := deadline.Share(ctx)
		time.Sleep(deadline.Margin)
		c, cancel := deadline.Call(inner, short)
		defer cancel()
		within(t, c, start.Add(short+deadline.Margin))
	})
	t.Run("the caller's own earlier deadline wins", func(t *testing.T) {
		parent, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		c, cancel2 := deadline.Call(deadline.Share(parent), timeout)
		defer cancel2()
		within(t, c, time.Now().Add(300*time.Millisecond))
	})
	t.Run("no timeout leaves the context alone", func(t *testing.T) {
		ctx := deadline.Share(context.Background())
		c, cancel := deadline.Call(ctx, 0)
		defer cancel()
		if _, ok := c.Deadline(); ok {
			t.Fatal("a deadline appeared")
		}
	})
}
