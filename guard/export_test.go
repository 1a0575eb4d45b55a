package guard

import (
	"context"
	"log/slog"

	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// Options and NewLambda let the tests wire a product Lambda with a meter
// stand-in; FromEnv reads settings through a function, as Start does.
type Options = options

func NewLambda(h Handler, routes route.Table, o Options) (lambdahttp.Lambda, error) {
	return newLambda(h, routes, o)
}

func FromEnv(ctx context.Context, getenv func(string) string, h Handler, log *slog.Logger) (lambdahttp.Lambda, error) {
	return fromEnv(ctx, getenv, h, log)
}
