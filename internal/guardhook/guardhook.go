// Package guardhook lets keygate's local mode serve a product's
// guard.Handler behind its own adapter and meter (local/devstack), the way a
// deployed product Lambda serves it behind guard.Start. Package guard
// registers the conversion when it loads. Only keygate's own module can
// import this package, so the guard package's public surface stays what its
// documentation shows.
package guardhook

import "github.com/keygate/keygate/shared/lambdahttp"

var routeHandler func(h any) (lambdahttp.Handler, bool)

// Register is called once, by package guard's init.
func Register(f func(h any) (lambdahttp.Handler, bool)) { routeHandler = f }

// RouteHandler is the route handler (to put behind lambdahttp.Adapter) of h,
// a guard.Handler; false when h is not one.
func RouteHandler(h any) (lambdahttp.Handler, bool) {
	if routeHandler == nil {
		return nil, false
	}
	return routeHandler(h)
}
