package testenv

import (
	"context"
	"errors"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Probe counts the DynamoDB operations a client sends and can make chosen
// operations fail as a dropped connection would, before they reach the wire.
type Probe struct {
	mu    sync.Mutex
	calls map[string]int
	fail  map[string]bool
	hooks map[string]*hook
}

// hook runs do before the n-th call of an operation from now on.
type hook struct {
	n  int
	do func()
}

// ErrInjected is the failure a probe injects.
var ErrInjected = errors.New("injected: connection to DynamoDB lost")

// Option installs the probe on a client.
func (p *Probe) Option() func(*dynamodb.Options) {
	return func(o *dynamodb.Options) {
		o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
			return s.Initialize.Add(middleware.InitializeMiddlewareFunc("keygateProbe",
				func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
					op := awsmiddleware.GetOperationName(ctx)
					p.mu.Lock()
					if p.calls == nil {
						p.calls = map[string]int{}
					}
					p.calls[op]++
					fail := p.fail[op]
					var do func()
					if h := p.hooks[op]; h != nil {
						if h.n--; h.n == 0 {
							do = h.do
							delete(p.hooks, op)
						}
					}
					p.mu.Unlock()
					if do != nil {
						do()
					}
					if fail {
						return middleware.InitializeOutput{}, middleware.Metadata{}, ErrInjected
					}
					return next.HandleInitialize(ctx, in)
				}), middleware.Before)
		})
	}
}

// Calls returns the counts so far and resets them.
func (p *Probe) Calls() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.calls
	p.calls = map[string]int{}
	if c == nil {
		c = map[string]int{}
	}
	return c
}

// Fail makes op (e.g. "UpdateItem") fail, or succeed again with on false.
func (p *Probe) Fail(op string, on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail == nil {
		p.fail = map[string]bool{}
	}
	p.fail[op] = on
}

// Before runs do (once) just before the n-th call of op (e.g. "PutItem")
// counted from now, as that call is about to be sent: a test pauses the store
// at an exact point of a request with it.
func (p *Probe) Before(op string, n int, do func()) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.hooks == nil {
		p.hooks = map[string]*hook{}
	}
	p.hooks[op] = &hook{n: n, do: do}
}
