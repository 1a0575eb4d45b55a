package devstack

import (
	"github.com/keygate/keygate/examples/reports"
	"github.com/keygate/keygate/examples/reports/api"
	"github.com/keygate/keygate/guard"
	"github.com/keygate/keygate/internal/guardhook"
	"github.com/keygate/keygate/route"
)

// GuardRoutes serves a product's routes with its guard handler (what its
// Lambda's main hands guard.Start): local mode puts the handler behind the
// same adapter and meter, each route at its declared scope and cost, as the
// deployed Lambda does. A product's own dev server starts a Stack with them
// (Options.Product).
func GuardRoutes(routes route.Table, h guard.Handler) []ProductRoute {
	serve, ok := guardhook.RouteHandler(h)
	if !ok {
		panic("devstack: a nil guard.Handler")
	}
	out := make([]ProductRoute, len(routes))
	for i, rt := range routes {
		out[i] = ProductRoute{Route: rt, Handler: serve}
	}
	return out
}

// Example is the example product (examples/reports), which local mode
// serves by default beside keygate's own routes; each call has a store of
// its own, empty.
func Example() []ProductRoute {
	return GuardRoutes(reports.Routes, api.New())
}
