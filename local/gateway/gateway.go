// Package gateway is a local stand-in for an API Gateway REST API with a
// Lambda REQUEST authorizer and Lambda proxy integrations. It serves the very
// same handler functions the Lambdas run, and reproduces what clients of the
// deployed API see: a missing Authorization header is 401 without calling the
// authorizer; the authorizer's "Unauthorized" error is 401; its returned
// policy is evaluated (Deny or no matching Allow is 403); its context reaches
// the integration as requestContext.authorizer; an Allow or Deny is cached
// per Authorization header value for CacheTTL and reused on every route, as
// API Gateway's authorizer result cache does; public routes skip the
// authorizer; every gateway-made error is the contract's JSON envelope, as
// infra's gateway responses render it; response header names keep the case
// the integration wrote.
package gateway

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/lru"
)

// AuthorizerFunc is a REQUEST authorizer's Lambda handler.
type AuthorizerFunc func(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (events.APIGatewayCustomAuthorizerResponse, error)

// Route is one method on one resource path, e.g. PATCH /v1/api-keys/{prefix}.
type Route struct {
	Method string
	Path   string
	Lambda lambdahttp.Lambda
	Public bool // no authorizer (AuthorizationType NONE)
	// Function names the Lambda (route.Route.Function). Each invocation's
	// context carries it as Lambda's does, in lambdacontext's
	// InvokedFunctionArn (see FunctionArn): the tests attribute every AWS
	// call to the function whose code made it by it.
	Function string
}

// AuthorizerFunction is the authorizer's function name in the ARN its
// invocations carry.
const AuthorizerFunction = "authorizer"

// FunctionArn is the ARN of the local function called name, as Lambda puts
// it in an invocation's context (lambdacontext.LambdaContext.InvokedFunctionArn).
func FunctionArn(name string) string {
	return "arn:aws:lambda:" + region + ":" + account + ":function:" + name
}

// Gateway is an http.Handler.
type Gateway struct {
	Authorizer AuthorizerFunc
	Routes     []Route // fixed once the gateway serves
	Stage      string  // default "local"
	Log        *slog.Logger
	// CacheTTL turns on the authorizer result cache (0: off), keyed like
	// API Gateway's by the identity source, the Authorization header.
	CacheTTL time.Duration
	Now      func() time.Time // default time.Now
	// FunctionTimeout and AuthorizerTimeout are each invocation's deadline,
	// as Lambda gives one; default DefaultFunctionTimeout and
	// DefaultAuthorizerTimeout.
	FunctionTimeout, AuthorizerTimeout time.Duration

	cacheOnce sync.Once
	cache     *lru.Cache[string, events.APIGatewayCustomAuthorizerResponse]

	noRouteOnce sync.Once
	noRoute     string
}

// The deployed functions' timeouts (infra/stack/functions.go: the route
// functions 10 s, the authorizer 5 s). Each local invocation gets its own as
// the context deadline Lambda would give it, so the adapter and the
// authorizer stop their store calls in time here as they do deployed.
const (
	DefaultFunctionTimeout   = 10 * time.Second
	DefaultAuthorizerTimeout = 5 * time.Second
)

// maxCached bounds the emulated authorizer cache.
const maxCached = 10_000

// The messages of the gateway responses, as infra/stack/api.go renders them.
const (
	msgUnauthorized = "Send Authorization: Bearer <API key or token>; the credential was missing, malformed, unknown, revoked or expired."
	msgDenied       = "This API key's scopes ($context.authorizer.scopes) do not allow $context.httpMethod $context.resourcePath; GET /v1/scopes lists the scope each route needs."
	msgAuthFailure  = "The credential could not be checked right now; retry shortly."
	msgTooLarge     = "The request body is over API Gateway's 10 MB limit."
)

// maxPayload is API Gateway's own request payload limit.
const maxPayload = 10 << 20

const (
	region  = "local"
	account = "000000000000"
	apiID   = "keygate"
)

// call is one request on its way through the gateway.
type call struct {
	route        *Route
	params       map[string]string
	requestID    string
	methodArn    string
	headers      map[string]string
	multiHeaders map[string][]string
	query        map[string]string
	multiQuery   map[string][]string
	reqCtx       events.APIGatewayProxyRequestContext
	body         []byte
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	route, params := g.match(r.Method, r.URL.Path)
	if route == nil {
		writeError(w, apierr.NotFound, g.noRouteMessage())
		return
	}
	authz := r.Header.Values("Authorization")
	if !route.Public && (len(authz) == 0 || strings.TrimSpace(authz[0]) == "") {
		writeError(w, apierr.Unauthorized, msgUnauthorized)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxPayload+1))
	if err != nil || len(body) > maxPayload {
		writeError(w, apierr.PayloadTooLarge, msgTooLarge) // REQUEST_TOO_LARGE
		return
	}

	requestID := newRequestID()
	stage := g.Stage
	if stage == "" {
		stage = "local"
	}
	c := &call{route: route, params: params, requestID: requestID, body: body}
	c.headers, c.multiHeaders = flattenHeaders(r.Header)
	c.query, c.multiQuery = flattenQuery(r)
	c.methodArn = fmt.Sprintf("arn:aws:execute-api:%s:%s:%s/%s/%s%s", region, account, apiID, stage, r.Method, r.URL.Path)
	c.reqCtx = events.APIGatewayProxyRequestContext{
		AccountID: account, ResourcePath: route.Path, Stage: stage, RequestID: requestID,
		HTTPMethod: r.Method, APIID: apiID, Path: "/" + stage + r.URL.Path,
		Identity:         events.APIGatewayRequestIdentity{SourceIP: sourceIP(r), UserAgent: r.UserAgent()},
		RequestTimeEpoch: time.Now().UnixMilli(),
	}
	if !route.Public {
		authorizer, ok := g.authorizeRequest(w, r, c)
		if !ok {
			return
		}
		c.reqCtx.Authorizer = authorizer
	}
	g.integrate(w, r, c)
}

// authorizeRequest runs (or reuses the cached answer of) the authorizer and
// evaluates its policy; false means it has answered the client already.
func (g *Gateway) authorizeRequest(w http.ResponseWriter, r *http.Request, c *call) (map[string]any, bool) {
	ctx := r.Context()
	// The cache key is the very value the authorizer is given.
	identity := c.headers[http.CanonicalHeaderKey("Authorization")]
	res, hit := g.cached(identity)
	var err error
	if !hit {
		authCtx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{
			AwsRequestID: c.requestID + "-auth", InvokedFunctionArn: FunctionArn(AuthorizerFunction)})
		authCtx, cancel := context.WithTimeout(authCtx, orDefault(g.AuthorizerTimeout, DefaultAuthorizerTimeout))
		defer cancel()
		res, err = g.authorize(authCtx, events.APIGatewayCustomAuthorizerRequestTypeRequest{
			Type: "REQUEST", MethodArn: c.methodArn, Resource: c.route.Path, Path: r.URL.Path, HTTPMethod: r.Method,
			Headers: c.headers, MultiValueHeaders: c.multiHeaders, QueryStringParameters: c.query,
			MultiValueQueryStringParameters: c.multiQuery, PathParameters: c.params,
			RequestContext: events.APIGatewayCustomAuthorizerRequestTypeRequestContext{
				Path: c.reqCtx.Path, AccountID: account, ResourcePath: c.route.Path, Stage: c.reqCtx.Stage,
				RequestID: c.requestID, HTTPMethod: r.Method, APIID: apiID,
				Identity: events.APIGatewayCustomAuthorizerRequestTypeRequestIdentity{SourceIP: c.reqCtx.Identity.SourceIP},
			},
		})
	}
	switch {
	case err != nil && err.Error() == "Unauthorized":
		writeError(w, apierr.Unauthorized, msgUnauthorized)
		return nil, false
	case err != nil:
		// The authorizer logged why; this is the gateway's own record.
		g.log().WarnContext(ctx, "authorizer failed", "requestId", c.requestID)
		writeError(w, apierr.ServiceUnavailable, msgAuthFailure)
		return nil, false
	}
	if !hit {
		g.store(identity, res)
	}
	if !allowed(res.PolicyDocument, c.methodArn) {
		// As infra's ACCESS_DENIED gateway response renders it: API
		// Gateway substitutes these $context variables.
		msg := strings.NewReplacer(
			"$context.authorizer.scopes", fmt.Sprint(res.Context["scopes"]),
			"$context.httpMethod", r.Method,
			"$context.resourcePath", c.route.Path,
		).Replace(msgDenied)
		writeError(w, apierr.Forbidden, msg)
		return nil, false
	}
	authorizer := map[string]any{"principalId": res.PrincipalID}
	for k, v := range res.Context {
		authorizer[k] = fmt.Sprint(v) // REST API hands context values over as strings
	}
	return authorizer, true
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (g *Gateway) now() time.Time {
	if g.Now == nil {
		return time.Now()
	}
	return g.Now()
}

// authCache is the authorizer result cache, made on first use so that a
// Gateway literal works.
func (g *Gateway) authCache() *lru.Cache[string, events.APIGatewayCustomAuthorizerResponse] {
	g.cacheOnce.Do(func() {
		g.cache = lru.New[string, events.APIGatewayCustomAuthorizerResponse](maxCached)
	})
	return g.cache
}

// cached returns the authorizer's answer for this identity if the cache
// holds a live one.
func (g *Gateway) cached(identity string) (events.APIGatewayCustomAuthorizerResponse, bool) {
	if g.CacheTTL <= 0 {
		return events.APIGatewayCustomAuthorizerResponse{}, false
	}
	return g.authCache().Get(identity, g.now())
}

// store caches a policy answer (Allow or Deny); errors are not cached.
func (g *Gateway) store(identity string, res events.APIGatewayCustomAuthorizerResponse) {
	if g.CacheTTL <= 0 {
		return
	}
	g.authCache().Put(identity, res, g.now().Add(g.CacheTTL))
}

// FlushCache empties the authorizer cache (API Gateway's "flush authorizer
// cache" for a stage).
func (g *Gateway) FlushCache() {
	g.authCache().Purge()
}

func (g *Gateway) integrate(w http.ResponseWriter, r *http.Request, c *call) {
	ctx := r.Context()
	route, requestID, body := c.route, c.requestID, c.body
	ev := events.APIGatewayProxyRequest{
		Resource: route.Path, Path: r.URL.Path, HTTPMethod: r.Method,
		Headers: c.headers, MultiValueHeaders: c.multiHeaders,
		QueryStringParameters: c.query, MultiValueQueryStringParameters: c.multiQuery,
		PathParameters: c.params, RequestContext: c.reqCtx,
	}
	if utf8.Valid(body) {
		ev.Body = string(body)
	} else {
		ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	fnCtx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: requestID, InvokedFunctionArn: FunctionArn(route.Function)})
	fnCtx, cancel := context.WithTimeout(fnCtx, orDefault(g.FunctionTimeout, DefaultFunctionTimeout))
	defer cancel()
	resp, err := invoke(fnCtx, route.Lambda, ev)
	if err != nil {
		g.log().ErrorContext(ctx, "integration failed", "requestId", requestID, "error", err)
		writeError(w, apierr.InternalError, "Internal error; it has been logged with the request id.")
		return
	}
	// Assigned, not Set: Set would canonicalise X-RateLimit-Limit into
	// X-Ratelimit-Limit, and the deployed API keeps the integration's case.
	for k, v := range resp.Headers {
		w.Header()[k] = []string{v}
	}
	for k, vs := range resp.MultiValueHeaders {
		w.Header()[k] = append(w.Header()[k], vs...)
	}
	w.Header()["x-amzn-RequestId"] = []string{requestID} // as API Gateway spells it
	out := []byte(resp.Body)
	if resp.IsBase64Encoded {
		if out, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			writeError(w, apierr.InternalError, "Internal error; it has been logged with the request id.")
			return
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
}

func (g *Gateway) authorize(ctx context.Context, ev events.APIGatewayCustomAuthorizerRequestTypeRequest) (res events.APIGatewayCustomAuthorizerResponse, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("authorizer panic: %v", v)
		}
	}()
	return g.Authorizer(ctx, ev)
}

func invoke(ctx context.Context, fn lambdahttp.Lambda, ev events.APIGatewayProxyRequest) (resp events.APIGatewayProxyResponse, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("integration panic: %v", v)
		}
	}()
	return fn(ctx, ev)
}

func (g *Gateway) log() *slog.Logger {
	if g.Log == nil {
		return slog.Default()
	}
	return g.Log
}

// noRouteMessage is the 404 message: "No such route. Routes: " and the
// route table's summary, as infra/stack/api.go renders it.
func (g *Gateway) noRouteMessage() string {
	g.noRouteOnce.Do(func() {
		t := make(route.Table, len(g.Routes))
		for i, r := range g.Routes {
			t[i] = route.Route{Method: r.Method, Path: r.Path}
		}
		g.noRoute = "No such route. Routes: " + t.Summary() + "."
	})
	return g.noRoute
}

// match finds the route for method and path; {name} segments bind path
// parameters. As in API Gateway, a path whose method is not configured is no
// route at all.
func (g *Gateway) match(method, path string) (*Route, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := range g.Routes {
		rt := &g.Routes[i]
		if rt.Method != method {
			continue
		}
		tmpl := strings.Split(strings.Trim(rt.Path, "/"), "/")
		if len(tmpl) != len(segs) {
			continue
		}
		var params map[string]string
		ok := true
		for j, t := range tmpl {
			if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
				if segs[j] == "" {
					ok = false
					break
				}
				if params == nil {
					params = map[string]string{}
				}
				params[t[1:len(t)-1]] = segs[j]
				continue
			}
			if t != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return rt, params
		}
	}
	return nil, nil
}

// allowed evaluates an authorizer policy for one method ARN: an explicit Deny
// wins, otherwise an Allow must match.
func allowed(doc events.APIGatewayCustomAuthorizerPolicy, arn string) bool {
	allow := false
	for _, st := range doc.Statement {
		if !actionMatches(st.Action) || !anyMatch(st.Resource, arn) {
			continue
		}
		switch strings.ToLower(st.Effect) {
		case "deny":
			return false
		case "allow":
			allow = true
		}
	}
	return allow
}

func actionMatches(actions []string) bool {
	for _, a := range actions {
		if glob(strings.ToLower(a), "execute-api:invoke") {
			return true
		}
	}
	return false
}

func anyMatch(patterns []string, s string) bool {
	for _, p := range patterns {
		if glob(p, s) {
			return true
		}
	}
	return false
}

// glob matches IAM-style patterns: * is any run of characters, ? one.
func glob(p, s string) bool {
	px, sx := 0, 0
	nextP, nextS := -1, -1
	for px < len(p) || sx < len(s) {
		if px < len(p) {
			switch c := p[px]; c {
			case '*':
				nextP, nextS = px, sx+1
				px++
				continue
			case '?':
				if sx < len(s) {
					px++
					sx++
					continue
				}
			default:
				if sx < len(s) && s[sx] == c {
					px++
					sx++
					continue
				}
			}
		}
		if nextS > 0 && nextS <= len(s) {
			px, sx = nextP, nextS
			continue
		}
		return false
	}
	return true
}

func writeError(w http.ResponseWriter, code apierr.Code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(apierr.Status(code))
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // as the deployed gateway responses render it
	_ = enc.Encode(apierr.New(code, "%s", msg).Envelope())
}

func flattenHeaders(h http.Header) (map[string]string, map[string][]string) {
	single := make(map[string]string, len(h))
	multi := make(map[string][]string, len(h))
	for k, vs := range h {
		single[k] = vs[len(vs)-1]
		multi[k] = vs
	}
	return single, multi
}

func flattenQuery(r *http.Request) (map[string]string, map[string][]string) {
	q := r.URL.Query()
	if len(q) == 0 {
		return nil, nil
	}
	single := make(map[string]string, len(q))
	for k, vs := range q {
		single[k] = vs[len(vs)-1]
	}
	return single, q
}

func sourceIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return host
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	s := hex.EncodeToString(b[:])
	return s[:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:]
}
