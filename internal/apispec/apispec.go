// Package apispec checks HTTP exchanges against keygate's API description,
// docs/openapi.yaml, so the document cannot drift from what the API answers:
// internal/testenv runs every response an end-to-end test receives through
// Check. The OpenAPI side (route, status, headers, body schema) is
// kin-openapi's openapi3filter with its JSON Schema 2020-12 validator; the
// contract rules a schema cannot state (rate-limit headers on every response
// to an API key, CORS, 404 for a route the document does not list) are
// checked here, as the document's description lists them.
package apispec

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/keygate/keygate/docs"
)

// Exchange is one request and the response it got.
type Exchange struct {
	Method        string
	Target        string      // path and query, e.g. /v1/usage?days=3
	RequestHeader http.Header // as sent (Authorization, Origin, ...)
	Status        int
	Header        http.Header // the response's
	Body          []byte
}

// Validator checks exchanges against one OpenAPI document.
type Validator struct {
	doc       *openapi3.T
	router    routers.Router
	noRoute   *routers.Route      // what a method and path the document does not list must get
	preflight *openapi3.Operation // what OPTIONS on a path the document lists must get
	notFound  *openapi3.ResponseRef
}

// PreflightExtension is where the document describes the CORS preflight
// every path answers. Preflights are not operations of the document: a
// client generated from it would grow a method per preflight.
const PreflightExtension = "x-cors-preflight"

// Preflight reads the preflight operation from doc's PreflightExtension.
func Preflight(doc *openapi3.T) (*openapi3.Operation, error) {
	raw, ok := doc.Extensions[PreflightExtension]
	if !ok {
		return nil, fmt.Errorf("the document has no %s", PreflightExtension)
	}
	b, err := json.Marshal(raw)
	if err != nil {
		return nil, err
	}
	op := &openapi3.Operation{}
	if err := json.Unmarshal(b, op); err != nil {
		return nil, fmt.Errorf("%s is not an operation: %w", PreflightExtension, err)
	}
	if err := op.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("%s: %w", PreflightExtension, err)
	}
	if op.Responses.Status(http.StatusNoContent) == nil || op.Responses.Len() != 1 {
		return nil, fmt.Errorf("%s must answer 204 and nothing else", PreflightExtension)
	}
	return op, nil
}

// New returns a validator of doc, which must be valid.
func New(doc *openapi3.T) (*Validator, error) {
	// Route on paths alone: the servers name hosts and stages, and the tests
	// call the local gateway on whatever port it got.
	routing := *doc
	routing.Servers = nil
	r, err := gorillamux.NewRouter(&routing)
	if err != nil {
		return nil, fmt.Errorf("build router: %w", err)
	}
	nf := doc.Components.Responses["NotFound"]
	if nf == nil || nf.Value == nil {
		return nil, errors.New("the document has no components.responses.NotFound")
	}
	op := &openapi3.Operation{OperationID: "(no such route)", Responses: openapi3.NewResponses(
		openapi3.WithStatus(http.StatusNotFound, nf))}
	op.Responses.Delete("default")
	pre, err := Preflight(doc)
	if err != nil {
		return nil, err
	}
	return &Validator{doc: doc, router: r, notFound: nf, preflight: pre,
		noRoute: &routers.Route{Spec: doc, Path: "(no such route)", Operation: op}}, nil
}

var defaultValidators = sync.OnceValues(func() (*validators, error) {
	strict, err := load(nil)
	if err != nil {
		return nil, err
	}
	v := &validators{strict: strict}
	if len(KnownDeviations) > 0 {
		if v.lenient, err = load(KnownDeviations); err != nil {
			return nil, err
		}
	}
	return v, nil
})

// validators are the document as written and, when there are
// KnownDeviations, the document with them allowed (else nil).
type validators struct{ strict, lenient *Validator }

var benchSeen sync.Map // "method target status" a benchmark has checked

func load(devs []Deviation) (*Validator, error) {
	doc, err := docs.Load()
	if err != nil {
		return nil, err
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("docs/openapi.yaml is not a valid OpenAPI document: %w", err)
	}
	if err := relax(doc, devs); err != nil {
		return nil, err
	}
	return New(doc)
}

// ValidateResponse checks one exchange against docs/openapi.yaml and the
// contract rules it lists. The error says which request, which operation and
// what does not match; a mismatch listed in KnownDeviations is a
// *KnownDeviationError.
func ValidateResponse(method, target string, reqHeader http.Header, status int, header http.Header, body []byte) error {
	v, err := defaultValidators()
	if err != nil {
		return err
	}
	x := Exchange{Method: method, Target: target, RequestHeader: reqHeader, Status: status, Header: header, Body: body}
	strictErr := v.strict.Validate(context.Background(), x)
	if strictErr == nil || v.lenient == nil {
		return strictErr
	}
	if v.lenient.Validate(context.Background(), x) == nil {
		return &KnownDeviationError{Err: strictErr}
	}
	return strictErr
}

// Check runs ValidateResponse and reports a mismatch with t.Errorf (a known
// deviation with t.Logf). In a benchmark it checks the first response of each
// method, target and status only: a check costs about 2 ms of CPU
// (kin-openapi compiles the JSON Schema at every call), which would show in
// the throughput a benchmark measures, and later responses of a benchmark
// loop have the shape of the first.
func Check(t testing.TB, method, target string, reqHeader http.Header, status int, header http.Header, body []byte) {
	t.Helper()
	if _, bench := t.(*testing.B); bench {
		if _, seen := benchSeen.LoadOrStore(fmt.Sprint(method, " ", target, " ", status), true); seen {
			return
		}
	}
	err := ValidateResponse(method, target, reqHeader, status, header, body)
	var known *KnownDeviationError
	switch {
	case err == nil:
	case errors.As(err, &known):
		t.Logf("%v", err)
	default:
		t.Errorf("%v", err)
	}
}

// Validate checks one exchange.
func (v *Validator) Validate(ctx context.Context, x Exchange) error {
	fail := func(op string, problems ...string) error {
		return &MismatchError{Method: x.Method, Target: x.Target, Status: x.Status, Operation: op, Problems: problems, Body: x.Body}
	}
	req, err := http.NewRequestWithContext(ctx, x.Method, "http://keygate.invalid"+x.Target, nil)
	if err != nil {
		return fail("", fmt.Sprintf("request target %q does not parse: %v", x.Target, err))
	}
	req.Header = x.RequestHeader.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	route, params, err := v.router.FindRoute(req)
	known := err == nil
	if x.Method == http.MethodOptions && errors.Is(err, routers.ErrMethodNotAllowed) {
		// A path the document lists: the preflight it describes.
		route = &routers.Route{Spec: v.doc, Path: req.URL.Path, Method: x.Method, Operation: v.preflight}
		known, err = true, nil
	}
	if !known {
		if !errors.Is(err, routers.ErrPathNotFound) && !errors.Is(err, routers.ErrMethodNotAllowed) {
			return fail("", fmt.Sprintf("find route: %v", err))
		}
		route, params = v.noRoute, nil
		if x.Status != http.StatusNotFound {
			return fail(route.Operation.OperationID, fmt.Sprintf(
				"the document lists no %s %s, so the answer must be 404 NotFound, not %d", x.Method, req.URL.Path, x.Status))
		}
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	opts.WithCustomSchemaErrorFunc(func(e *openapi3.SchemaError) string { return e.Reason })
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 x.Status,
		Header:                 x.Header,
		Options:                opts,
	}
	in.SetBodyBytes(x.Body)
	var problems []string
	if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
		problems = append(problems, describe(err)...)
	}
	if x.Status == http.StatusNoContent && len(x.Body) > 0 {
		problems = append(problems, fmt.Sprintf("a 204 has no body, this one has %d bytes", len(x.Body)))
	}
	problems = append(problems, rateLimitRule(route, known, x)...)
	problems = append(problems, corsRule(x)...)
	if len(problems) > 0 {
		return fail(route.Operation.OperationID, problems...)
	}
	return nil
}

// accessRefusal matches the message of a 403 for a key's scopes or networks.
var accessRefusal = regexp.MustCompile(`"message":"This API key(?:'s scopes \(| may only be used from )`)

var rateLimitHeaders = []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"}

// keyCredential matches an Authorization header that carries a well-formed
// API key (scheme case-insensitive, ASCII space or tab between).
var keyCredential = regexp.MustCompile(`^(?i:bearer)[ \t]+csk_live_[0-9a-f]{32}[ \t]*$`)

// rateLimitRule: the three X-RateLimit-* headers come together or not at all,
// and a request made with an API key on a route behind the authorizer gets
// them on every answer keygate itself makes. 401, 500 and 503 may come from
// the gateway before the key is known, so they are exempt; so is a 403 that
// refuses the key's scopes or networks, which counts nothing and which API
// Gateway itself makes for a route outside the key's scopes.
func rateLimitRule(route *routers.Route, known bool, x Exchange) []string {
	var present, missing []string
	for _, h := range rateLimitHeaders {
		if x.Header.Get(h) != "" {
			present = append(present, h)
		} else {
			missing = append(missing, h)
		}
	}
	if len(present) > 0 && len(missing) > 0 {
		return []string{fmt.Sprintf("%s without %s: the rate-limit headers come together",
			strings.Join(present, ", "), strings.Join(missing, ", "))}
	}
	if len(missing) == 0 || !known || !behindAuthorizer(route) || !keyCredential.MatchString(x.RequestHeader.Get("Authorization")) {
		return nil
	}
	switch x.Status {
	case http.StatusUnauthorized, http.StatusInternalServerError, http.StatusServiceUnavailable:
		return nil
	case http.StatusForbidden:
		if accessRefusal.Match(x.Body) {
			return nil
		}
	}
	return []string{fmt.Sprintf("a %d to an API key lacks %s", x.Status, strings.Join(missing, ", "))}
}

// behindAuthorizer: the operation takes a bearer credential (its security
// requirements are not empty).
func behindAuthorizer(route *routers.Route) bool {
	sec := route.Operation.Security
	if sec == nil {
		sec = &route.Spec.Security
	}
	return len(*sec) > 0
}

// exposedHeaders are what a browser must be allowed to read, in the case the
// contract writes them.
var exposedHeaders = []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"}

// corsRule: Access-Control-Allow-Origin, when present, is the request's
// Origin, and an actual (not preflight) response then exposes the rate-limit
// headers and Retry-After.
func corsRule(x Exchange) []string {
	allow := x.Header.Get("Access-Control-Allow-Origin")
	if allow == "" {
		return nil
	}
	var problems []string
	if origin := x.RequestHeader.Get("Origin"); allow != origin {
		problems = append(problems, fmt.Sprintf("Access-Control-Allow-Origin is %q, the request's Origin %q", allow, origin))
	}
	if x.Method == http.MethodOptions {
		return problems
	}
	var exposed []string
	for _, v := range x.Header.Values("Access-Control-Expose-Headers") {
		for _, h := range strings.Split(v, ",") {
			exposed = append(exposed, strings.TrimSpace(h))
		}
	}
	for _, h := range exposedHeaders {
		if !slices.Contains(exposed, h) {
			problems = append(problems, fmt.Sprintf("Access-Control-Expose-Headers %q does not name %s", exposed, h))
		}
	}
	return problems
}

// describe flattens kin-openapi's errors into one line per problem.
func describe(err error) []string {
	if re, ok := err.(*openapi3filter.ResponseError); ok {
		if re.Err == nil {
			return []string{re.Reason}
		}
		var out []string
		for _, d := range describe(re.Err) {
			out = append(out, re.Reason+": "+d)
		}
		return out
	}
	var me openapi3.MultiError
	if errors.As(err, &me) {
		var out []string
		for _, e := range me {
			out = append(out, describe(e)...)
		}
		return out
	}
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		// The 2020-12 validator's reasons name the path themselves, better
		// than the pointer kin-openapi puts in front of them.
		if m := reasonWithPath.FindStringSubmatch(se.Reason); m != nil {
			return []string{m[1]}
		}
		if p := se.JSONPointer(); len(p) > 0 && !strings.Contains(se.Reason, "'/") {
			return []string{"at /" + strings.Join(p, "/") + ": " + se.Reason}
		}
		return []string{se.Reason}
	}
	return []string{err.Error()}
}

// MismatchError is an exchange that does not match the document.
type MismatchError struct {
	Method, Target string
	Status         int
	Operation      string // the document's operationId, if a route matched
	Problems       []string
	Body           []byte
}

func (e *MismatchError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s answered %d, which docs/openapi.yaml does not describe", e.Method, e.Target, e.Status)
	if e.Operation != "" {
		fmt.Fprintf(&b, " (operation %s)", e.Operation)
	}
	b.WriteString(":")
	for _, p := range e.Problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	body := string(e.Body)
	if len(body) > 2000 {
		body = body[:2000] + "..."
	}
	fmt.Fprintf(&b, "\n  body: %s", body)
	return b.String()
}

// reasonWithPath picks the path-naming part of a 2020-12 validator reason.
var reasonWithPath = regexp.MustCompile(`^(?:error at "[^"]*": )?(at '.*)$`)
