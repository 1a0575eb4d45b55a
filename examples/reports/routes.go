// Package reports is the example product behind keygate: two routes of a
// product's own API, declared once here and read by its CDK app (the
// construct puts them behind keygate's authorizer and meter) and by keygate's
// local mode, which serves them beside keygate's own routes.
package reports

import "github.com/keygate/keygate/route"

// The example product's scopes.
const (
	ScopeRead  = "reports:read"
	ScopeWrite = "reports:write"
)

// Routes are the product's routes: listing costs 1 unit of a key's daily
// budget, creating a report 5.
var Routes = route.Table{
	{Function: "reports", Method: "GET", Path: "/v1/reports", Scope: ScopeRead, Cost: 1, Description: "List the caller's reports"},
	{Function: "reports", Method: "POST", Path: "/v1/reports", Scope: ScopeWrite, Cost: 5, Description: "Create a report"},
}
