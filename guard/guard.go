// Package guard puts a product's Go Lambda behind keygate: the API keys,
// scopes, networks and daily limits that keygate manages then guard the
// product's own routes, and the product's code sees who is calling.
//
// keygate's authorizer has already checked the credential (an API key or a
// signed-in user's token) before API Gateway invokes the Lambda. Around the
// product's handler, the package then does, for every request:
//
//   - bounds the request's context by the Lambda's deadline, less a margin
//     to answer in;
//   - for an API key, refuses a route outside the key's scopes (403), then
//     counts the route's cost against the key's daily budget in one
//     conditional write: over the limit is 429 with Retry-After, a revoked,
//     expired or suspended key 401, a source address outside the key's
//     networks 403, an unreachable store 503, and nothing is counted for any
//     of them; a signed-in user is not metered and may call every route;
//   - refuses a request body over the route's limit (16 KiB unless the route
//     says otherwise);
//   - calls the handler with the caller's Principal in its context;
//   - renders the answer: the success envelope {"success": true, "data": ...}
//     or, for an error, {"success": false, "error": {"code", "message"}}
//     with the status of its code; the X-RateLimit-Limit, -Remaining and
//     -Reset headers on every answer to a key; CORS headers for the
//     configured web origins;
//   - recovers a panic as a 500 and logs one line per request with the
//     request id and the principal, never a credential.
//
// A handler is a HandlerFunc, or any net/http handler through HTTP; Routes
// gives each route of a Lambda its own. Start reads the configuration and
// runs the Lambda:
//
//	package main
//
//	import (
//		"context"
//		"io"
//		"net/http"
//
//		"github.com/keygate/keygate/guard"
//	)
//
//	func main() {
//		guard.Start(guard.Routes{
//			"GET /v1/greetings/{name}": guard.HandlerFunc(greet),
//			"POST /v1/echo":            guard.HTTP(http.HandlerFunc(echo)),
//		})
//	}
//
//	// greet is written against the package's own request and response.
//	func greet(ctx context.Context, r *guard.Request) (guard.Response, error) {
//		caller, _ := guard.PrincipalFrom(ctx)
//		name := r.PathParams["name"]
//		if len(name) > 40 {
//			return guard.Response{}, guard.Errorf(guard.BadRequest, "The name is %d bytes long; the limit is 40.", len(name))
//		}
//		return guard.Response{Data: map[string]string{"greeting": "Hello, " + name, "for": caller.Owner()}}, nil
//	}
//
//	// echo is a plain net/http handler.
//	func echo(w http.ResponseWriter, r *http.Request) {
//		caller, _ := guard.PrincipalFrom(r.Context())
//		var in struct {
//			Text string `json:"text"`
//		}
//		body, _ := io.ReadAll(r.Body)
//		if err := guard.DecodeJSON(body, &in); err != nil {
//			guard.WriteError(w, err) // 400 naming the field
//			return
//		}
//		guard.WriteData(w, http.StatusCreated, map[string]any{"text": in.Text, "scopes": caller.Scopes})
//	}
//
// The two routes are declared once, with their scopes and costs, where the
// CDK construct adds them to the API (and local mode serves them):
//
//	guard.Route{Method: "GET", Path: "/v1/greetings/{name}", Function: "greeter", Scope: "greetings:read"}
//	guard.Route{Method: "POST", Path: "/v1/echo", Function: "greeter", Scope: "greetings:write", Cost: 5}
//
// # Configuration
//
// Start reads these environment variables once, when the Lambda starts
// (keygate's CDK construct sets them when it adds the route); a missing or
// malformed one stops the Lambda with a message naming it:
//
//   - KEYGATE_TABLE (required): keygate's DynamoDB table, where the budgets
//     live. The Lambda's role needs dynamodb:UpdateItem, dynamodb:GetItem
//     and dynamodb:PutItem on it (the meter's write, the read that explains
//     a refusal, yesterday's count archived), nothing else: what the
//     construct's AddRoute grants.
//   - KEYGATE_ROUTES (required): this Lambda's routes as JSON, a list of
//     route declarations (Route: method, path, scope, cost). A request for a
//     method and resource not listed is a configuration error: 500, logged,
//     and never served unmetered.
//   - KEYGATE_ALLOWED_ORIGINS: the web origins that get CORS headers.
//   - KEYGATE_STORE_TIMEOUT_MS: the deadline of the meter's store call
//     (default 2000).
//   - KEYGATE_DYNAMODB_ENDPOINT: another DynamoDB endpoint (local testing).
//   - KEYGATE_LOG_LEVEL: debug, info (default), warn or error.
//
// A product Lambda never verifies a token: keygate's authorizer did, and the
// package reads what it decided. The handler never sees the Authorization
// header, so product code cannot log a credential by accident.
//
// # Local development
//
// keygate's local mode (`make dev` in keygate's repository) serves keygate's
// own API and a product's routes through one local API Gateway, authorizer
// and meter; its example product (examples/reports) is written with this
// package alone.
package guard

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/keygate/keygate/internal/guardhook"
	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// Route declares one route of a product's API: method, path, the Lambda that
// serves it, the scope a key needs and what a request costs from the key's
// daily budget (1 to 1000 units, default 1). The CDK construct and local mode
// take the same declarations; KEYGATE_ROUTES carries them to the Lambda.
type Route = route.Route

// Handler is a product Lambda's code, ready for Start: a HandlerFunc, a
// net/http handler wrapped by HTTP, or Routes.
type Handler interface {
	// serve answers one request that has passed keygate's checks and meter.
	serve(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error)
}

// HandlerFunc answers a request. A nil error sends the Response; an error
// made by Errorf sends the error envelope with its code's status, and any
// other error a 500 whose cause is logged with the request id, never shown.
type HandlerFunc func(ctx context.Context, r *Request) (Response, error)

// Request is what a HandlerFunc is asked.
type Request struct {
	// Method is the HTTP method and Path the path as the client sent it
	// (/v1/things/t-1); Route is the route's declaration, whose Path names
	// the parameters (/v1/things/{id}).
	Method string
	Path   string
	Route  Route
	// PathParams are the route's {name} parameters, decoded.
	PathParams map[string]string
	// Query is every value of each query parameter.
	Query url.Values
	// Body is the request body (at most the route's MaxBody, 16 KiB by
	// default); empty when none was sent.
	Body []byte
	// RequestID is API Gateway's id of the request, which keygate's log
	// line for it carries too.
	RequestID string
	// SourceIP is the caller's address as API Gateway saw it (the zero Addr
	// when it gave none).
	SourceIP netip.Addr

	in     *lambdahttp.Request // the request as keygate's adapter read it
	header http.Header         // made by Header on first use
}

// Header holds the request's headers by canonical name, without
// Authorization: the credential is keygate's business, and product code that
// never holds it cannot leak it. It is made on first use (most handlers never
// read a header), and a test may fill it: r.Header().Set("X-Trace", "t-1").
func (r *Request) Header() http.Header {
	if r.header == nil {
		if r.in != nil {
			r.header = headerOf(r.in)
		} else {
			r.header = http.Header{}
		}
	}
	return r.header
}

// Response is a HandlerFunc's answer.
type Response struct {
	// Status is the HTTP status, 200 when 0. Failures are errors (Errorf),
	// not responses: a status of 400 or more is only sent with a Body.
	Status int
	// Data is the success envelope's data, rendered as JSON:
	// {"success": true, "data": Data}.
	Data any
	// Header holds headers to send with the answer (Location, Cache-Control,
	// ...). keygate sets the rate-limit and CORS headers itself.
	Header http.Header
	// Body, when not nil, is sent as it is instead of the envelope; say what
	// it is in Header's Content-Type (else it is sniffed, as net/http does).
	Body []byte
}

// Routes gives each route of a Lambda its own handler, by the route's name
// "METHOD /path" as declared ("GET /v1/things/{id}"). Start refuses to run
// when Routes and the Lambda's KEYGATE_ROUTES do not name the same routes.
type Routes map[string]Handler

func (f HandlerFunc) serve(ctx context.Context, in *lambdahttp.Request) (lambdahttp.Response, error) {
	c := newCall(in)
	ctx = c.context(ctx)
	c.req = Request{
		Method: in.Route.Method, Path: c.path(), Route: in.Route, PathParams: in.PathParams,
		Query: c.query(), Body: in.Body, RequestID: in.RequestID, SourceIP: in.SourceIP, in: in,
	}
	out, err := f(ctx, &c.req)
	if err != nil {
		return lambdahttp.Response{}, err
	}
	return c.render(out)
}

func (rs Routes) serve(ctx context.Context, in *lambdahttp.Request) (lambdahttp.Response, error) {
	h, ok := rs[in.Route.Method+" "+in.Route.Path]
	if !ok || h == nil {
		return lambdahttp.Response{}, apierr.Internal(fmt.Errorf("guard.Routes has no handler for %s", in.Route.Name()))
	}
	return h.serve(ctx, in)
}

// check reports a route Routes serves that routes do not declare, or one
// they declare that Routes does not serve.
func (rs Routes) check(routes route.Table) error {
	declared := make(map[string]bool, len(routes))
	var names []string
	for _, rt := range routes {
		declared[rt.Name()] = true
		names = append(names, rt.Name())
	}
	for name, h := range rs {
		if h == nil {
			return fmt.Errorf("guard.Routes: %s has a nil handler", name)
		}
		if !declared[name] {
			return fmt.Errorf("guard.Routes serves %q, which %s does not declare (%s)", name, envRoutes, strings.Join(names, ", "))
		}
	}
	for _, name := range names {
		if _, ok := rs[name]; !ok {
			return fmt.Errorf("%s declares %s, which guard.Routes does not serve", envRoutes, name)
		}
	}
	return nil
}

func init() {
	guardhook.Register(func(h any) (lambdahttp.Handler, bool) {
		g, ok := h.(Handler)
		if !ok || g == nil {
			return nil, false
		}
		return g.serve, true
	})
}
