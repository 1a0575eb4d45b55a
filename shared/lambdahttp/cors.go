package lambdahttp

import (
	"context"
	"net/http"
	"strings"

	"github.com/aws/aws-lambda-go/events"
)

// CORS headers, spelled exactly as the contract writes them.
const (
	// CORSAllowHeaders are the request headers a browser may send.
	CORSAllowHeaders = "Authorization, Content-Type, X-Workspace-ID"
	// CORSExposeHeaders are the response headers a page may read.
	CORSExposeHeaders = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"
	// CORSMaxAge is how long a browser may reuse a preflight answer, in seconds.
	CORSMaxAge = "600"
)

// CORS is which web origins may call the API from a browser (the contract's
// Browsers section). A response to an allowed origin names it in
// Access-Control-Allow-Origin and exposes the rate-limit headers; any other
// origin gets no Access-Control-Allow-Origin, so its pages cannot read the
// answer. No cookies are involved (the credential is a bearer header), so
// Access-Control-Allow-Credentials is never sent.
type CORS struct {
	origins map[string]bool
}

// NewCORS allows exactly the given origins (config.Config.AllowedOrigins).
func NewCORS(origins []string) *CORS {
	c := &CORS{origins: make(map[string]bool, len(origins))}
	for _, o := range origins {
		c.origins[o] = true
	}
	return c
}

// Allowed reports whether origin may call the API.
func (c *CORS) Allowed(origin string) bool { return c != nil && origin != "" && c.origins[origin] }

// Headers adds the headers every response to a request from origin carries.
// Vary: Origin is set whenever the request had an Origin, allowed or not,
// because the answer depends on it.
func (c *CORS) Headers(origin string, h map[string]string) {
	if origin == "" || c == nil || len(c.origins) == 0 {
		return
	}
	h["Vary"] = "Origin"
	if c.Allowed(origin) {
		h["Access-Control-Allow-Origin"] = origin
		h["Access-Control-Expose-Headers"] = CORSExposeHeaders
	}
}

// PreflightHeaders are the headers of the answer to a preflight (OPTIONS)
// from origin for a resource that serves methods; none when origin is not
// allowed.
func (c *CORS) PreflightHeaders(origin string, methods []string) map[string]string {
	h := map[string]string{}
	c.Headers(origin, h)
	if c.Allowed(origin) {
		h["Access-Control-Allow-Methods"] = strings.Join(append(methods[:len(methods):len(methods)], http.MethodOptions), ", ")
		h["Access-Control-Allow-Headers"] = CORSAllowHeaders
		h["Access-Control-Max-Age"] = CORSMaxAge
	}
	return h
}

// WithCORS wraps a route's Lambda (usually an Adapter) so that every response
// it gives, errors and 429s included, carries the CORS headers for the
// request's origin. API Gateway's proxy integration passes a Lambda's headers
// through untouched and adds none, so the route has to add them itself.
func WithCORS(l Lambda, c *CORS) Lambda {
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		resp, err := l(ctx, ev)
		if err == nil {
			if resp.Headers == nil {
				resp.Headers = map[string]string{}
			}
			c.Headers(RequestOrigin(ev.Headers), resp.Headers)
		}
		return resp, err
	}
}

// RequestOrigin is the Origin header of a proxy event. API Gateway hands
// header names over as the client sent them, so the lookup ignores case.
func RequestOrigin(headers map[string]string) string {
	o, _ := Header(headers, "Origin")
	return o
}
