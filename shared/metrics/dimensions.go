package metrics

import "strconv"

// The dimension names, and for each the fixed set of values it may take.
// Index 0 of every value table means "not set".
const (
	dRoute = iota
	dOutcome
	dComponent
	dReason
	dOperation
	dResult
	numDims
)

var dimNames = [numDims]string{"Route", "Outcome", "Component", "Reason", "Operation", "Result"}

// routeTable is every route of the API as "METHOD template", the form API
// Gateway's resource takes. A route added to the API is one more line here;
// a test checks that functions/handlers' route table is covered.
var routeTable = []string{
	"",
	"other", // a route missing from this table: counted, never named
	"POST /v1/api-keys",
	"GET /v1/api-keys",
	"PATCH /v1/api-keys/{prefix}",
	"DELETE /v1/api-keys/{prefix}",
	"POST /v1/api-keys/{prefix}/rotate",
	"GET /v1/usage",
	"GET /api/v1/workspaces/{id}/api-keys",
	"POST /api/v1/workspaces/{id}/api-keys",
	"DELETE /api/v1/workspaces/{id}/api-keys/{keyId}",
	"POST /api/v1/workspaces/{id}/api-keys/{keyId}/rotate",
	"POST /v1/secret-scanning/github",
}

// Route is a route of the API, as a Route dimension value.
type Route uint8

// RouteOther is any route missing from the table.
const RouteOther Route = 1

// RouteOf finds the route of a request from API Gateway's method and
// resource (the template, "/v1/api-keys/{prefix}", never the path a client
// sent). A pair not in the table is RouteOther, so a path with a key in it
// can never become a dimension value.
func RouteOf(method, resource string) Route {
	for i := 2; i < len(routeTable); i++ {
		r := routeTable[i]
		if len(r) == len(method)+1+len(resource) && r[:len(method)] == method && r[len(method)] == ' ' && r[len(method)+1:] == resource {
			return Route(i)
		}
	}
	return RouteOther
}

// String is the dimension value.
func (r Route) String() string { return value(dRoute, uint8(r)) }

var outcomeTable = []string{"", "OK", "BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict",
	"RateLimitExceeded", "InternalError", "ServiceUnavailable"}

const (
	outcomeOK          = 1
	outcomeRateLimited = 7
	outcomeUnavailable = 9
)

// outcomeOf maps an HTTP status to the contract's error code for it (each
// status the API answers has exactly one), "OK" for a success. Another 4xx
// is BadRequest and another 5xx InternalError, as the gateway renders them.
func outcomeOf(status int) uint8 {
	switch {
	case status >= 200 && status < 300:
		return outcomeOK
	case status == 401:
		return 3
	case status == 403:
		return 4
	case status == 404:
		return 5
	case status == 409:
		return 6
	case status == 429:
		return outcomeRateLimited
	case status == 503:
		return outcomeUnavailable
	case status >= 400 && status < 500:
		return 2
	default:
		return 8
	}
}

// Component is what answered a 503.
type Component struct{ v uint8 }

// The components of the Unavailable metric.
var (
	Authorizer = Component{1}
	Function   = Component{2}
)

var componentTable = []string{"", "authorizer", "function"}

// Reason is why the authorizer refused a credential.
type Reason struct{ v uint8 }

// The reasons of the Denials metric.
var (
	ReasonNoCredential = Reason{1} // no "Bearer <credential>" header
	ReasonMalformed    = Reason{2} // csk_ credential that is not a well-formed key
	ReasonUnknown      = Reason{3} // no such key
	ReasonRevoked      = Reason{4}
	ReasonExpired      = Reason{5}
	ReasonWrongSecret  = Reason{6} // the prefix exists, the rest does not match
	ReasonInvalidToken = Reason{7} // a JWT that does not verify
)

var reasonTable = []string{"", "no_credential", "malformed", "unknown", "revoked", "expired", "wrong_secret", "invalid_token"}

var operationTable = []string{"", "GetItem", "UpdateItem", "PutItem", "Query", "BatchGetItem"}

func operationOf(op string) uint8 {
	for i := 1; i < len(operationTable); i++ {
		if operationTable[i] == op {
			return uint8(i)
		}
	}
	return 0
}

const (
	resultOK    = 1
	resultError = 2
)

var resultTable = []string{"", "ok", "error"}

var valueTables = [numDims][]string{routeTable, outcomeTable, componentTable, reasonTable, operationTable, resultTable}

// quoted holds every dimension value as a JSON string, encoded once.
var quoted [numDims][][]byte

func init() {
	for d, t := range valueTables {
		quoted[d] = make([][]byte, len(t))
		for i, v := range t {
			if !plainValue(v) {
				panic("metrics: dimension value needs escaping: " + v)
			}
			quoted[d][i] = []byte(strconv.Quote(v))
		}
	}
}

func value(d int, v uint8) string {
	if int(v) < len(valueTables[d]) {
		return valueTables[d][v]
	}
	return ""
}

// plainValue reports whether s can be written between quotes as it is.
func plainValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

type metricID uint8

const (
	mRequests metricID = iota
	mRateLimited
	mUnavailable
	mDenials
	mStoreLatency
	mJWKSFetches
	numMetrics
)

// metricDefs are the metrics: name, unit and dimension names.
var metricDefs = [numMetrics]struct {
	name, unit string
	dims       []int
}{
	mRequests:     {"Requests", "Count", []int{dRoute, dOutcome}},
	mRateLimited:  {"RateLimited", "Count", []int{dRoute}},
	mUnavailable:  {"Unavailable", "Count", []int{dComponent}},
	mDenials:      {"Denials", "Count", []int{dReason}},
	mStoreLatency: {"StoreLatency", "Milliseconds", []int{dOperation}},
	mJWKSFetches:  {"JWKSFetches", "Count", []int{dResult}},
}

// dims builds a dimension-value vector with up to two values set.
func dims(k1 int, v1 uint8, k2 int, v2 uint8) (d [numDims]uint8) {
	d[k1] = v1
	if v2 != 0 {
		d[k2] = v2
	}
	return d
}
