// Package deadline gives the store calls of one request one shared budget.
// Each store call has its own timeout, but a request that makes several (a
// create reserves a slot, writes three items, and gives the slot back when a
// write fails) would otherwise wait that timeout once per call when the store
// stalls: 2 s each, 4 s and more in all. Share marks a request's context; from
// its first store call on, every call made with it ends at the latest one call's
// timeout plus Margin after that first call began. So a stalled store is a 503
// within one store deadline and a half-second margin, and the clean-up calls
// after a timed-out write (giving back a key slot, looking whether the write
// landed) share the margin instead of waiting a full timeout each.
package deadline

import (
	"context"
	"sync/atomic"
	"time"
)

// Margin is what the store calls of one request get, all together, beyond one
// call's timeout: room for the clean-up after a call that timed out.
const Margin = 500 * time.Millisecond

type budgetKey struct{}

// budget is one request's: the end of its store time, set by its first call.
type budget struct {
	end atomic.Int64 // Unix nanoseconds; 0 until the first store call
}

// Share marks ctx as one request's: the store calls made with it, or with a
// context derived from it, share one budget (see the package doc). A context
// already marked is returned as it is, so nested calls keep the outer budget.
func Share(ctx context.Context) context.Context {
	if _, ok := ctx.Value(budgetKey{}).(*budget); ok {
		return ctx
	}
	return context.WithValue(ctx, budgetKey{}, &budget{})
}

// Call bounds one store call of at most timeout: the context it returns ends
// at the earliest of now+timeout, the end of the request's budget (when ctx
// was marked by Share; the first call starts it) and ctx's own deadline (the
// Lambda's, say). A timeout of 0 or less leaves ctx as it is.
func Call(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if timeout <= 0 {
		return ctx, func() {}
	}
	now := time.Now()
	end := now.Add(timeout)
	if b, ok := ctx.Value(budgetKey{}).(*budget); ok {
		b.end.CompareAndSwap(0, now.Add(timeout+Margin).UnixNano())
		if shared := time.Unix(0, b.end.Load()); shared.Before(end) {
			end = shared
		}
	}
	return context.WithDeadline(ctx, end)
}
