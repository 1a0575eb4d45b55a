package metrics

import (
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/keygate/keygate/route"
)

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
// Gateway's resource takes: keygate's own (route.Keygate), then the
// product's routes a process registers with RegisterRoutes. It is replaced
// whole (copy on write), so a request reads one consistent table.
var routeTable atomic.Pointer[dimTable]

// dimTable is a dimension's values and their JSON encodings.
type dimTable struct {
	names  []string
	quoted [][]byte
}

func newDimTable(names []string) *dimTable {
	t := &dimTable{names: names, quoted: make([][]byte, len(names))}
	for i, v := range names {
		if !plainValue(v) {
			panic("metrics: dimension value needs escaping: " + v)
		}
		t.quoted[i] = []byte(strconv.Quote(v))
	}
	return t
}

func init() {
	routeTable.Store(newDimTable(append([]string{
		"",
		"other", // a route missing from this table: counted, never named
	}, routeNames(route.Keygate)...)))
}

func routeNames(t route.Table) []string {
	out := make([]string, len(t))
	for i, r := range t {
		out[i] = r.Name()
	}
	return out
}

// maxRoutes keeps a Route in its uint8.
const maxRoutes = 255

var registering sync.Mutex

// RegisterRoutes adds a deployment's product routes to the Route dimension
// (at start-up; app.New does it). Routes already known, and any past the
// 255th, are left out (counted as "other").
func RegisterRoutes(t route.Table) {
	registering.Lock()
	defer registering.Unlock()
	names := routeTable.Load().names
	added := slices.Clone(names)
	for _, name := range routeNames(t) {
		if len(added) < maxRoutes && !slices.Contains(added, name) {
			added = append(added, name)
		}
	}
	if len(added) != len(names) {
		routeTable.Store(newDimTable(added))
	}
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
	table := routeTable.Load().names
	for i := 2; i < len(table); i++ {
		r := table[i]
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

// fixedTables are the dimensions whose values never change (every one but
// the route), each encoded once.
var fixedTables = [numDims]*dimTable{
	dOutcome: newDimTable(outcomeTable), dComponent: newDimTable(componentTable), dReason: newDimTable(reasonTable),
	dOperation: newDimTable(operationTable), dResult: newDimTable(resultTable),
}

func table(d int) *dimTable {
	if d == dRoute {
		return routeTable.Load()
	}
	return fixedTables[d]
}

// quotedValue is a dimension value as a JSON string.
func quotedValue(d int, v uint8) []byte {
	if t := table(d); int(v) < len(t.quoted) {
		return t.quoted[v]
	}
	return []byte(`""`)
}

func value(d int, v uint8) string {
	if t := table(d); int(v) < len(t.names) {
		return t.names[v]
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
