// Package lambdahttp adapts keygate's route handlers to API Gateway (REST,
// Lambda proxy integration). Every route goes through Adapter, which is the
// one metering point: a request authenticated with a key is counted before any
// route logic runs and every response to it carries the rate-limit headers.
// Adapter also refuses a JWT principal past its token's expiry (an authorizer
// answer cached by API Gateway may outlive the token), renders the JSON
// envelope (or a bare JSON body for the workspace surface), maps errors to
// statuses in one place, recovers panics and logs one line per request
// without credentials.
package lambdahttp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/deadline"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/metrics"
	"github.com/keygate/keygate/shared/principal"
)

// MaxBody is the largest request body accepted.
const MaxBody = 16 << 10

// TokenLeeway is how far past its exp a JWT principal is still served; the
// same clock skew the verifier allows.
const TokenLeeway = principal.TokenLeeway

// DeadlineMargin is kept back from the Lambda's own deadline for writing the
// answer: store calls stop before it, so a slow store is the 503 envelope and
// never API Gateway's timeout.
const DeadlineMargin = 500 * time.Millisecond

// WithinLambdaDeadline bounds ctx by the invocation's deadline less
// DeadlineMargin (a context without a deadline is not bounded), and marks it
// as one request's, whose store calls share one budget (deadline.Share).
func WithinLambdaDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx = deadline.Share(ctx)
	if dl, ok := ctx.Deadline(); ok {
		return context.WithDeadline(ctx, dl.Add(-DeadlineMargin))
	}
	return ctx, func() {}
}

// Request is what a route handler sees.
type Request struct {
	Principal  principal.Principal
	Quota      metering.Quota // set when Principal.Method is ViaKey
	Body       []byte
	Headers    map[string]string // as received; use Header to read one
	PathParams map[string]string
	Query      map[string]string
	RequestID  string
	// Route is the route's declaration (scope, cost).
	Route route.Route
	// SourceIP is the caller's address as API Gateway saw it (invalid when
	// it gave none); UserAgent the User-Agent it reported.
	SourceIP  netip.Addr
	UserAgent string
	// Path is the request's path as the client sent it (/v1/reports/r-1;
	// Route.Path is its declaration, /v1/reports/{id}), and MultiValueHeaders
	// and MultiValueQuery every value of each header and query parameter, as
	// API Gateway gives them: what the guard package needs to hand a product's
	// net/http handler the whole request.
	Path              string
	MultiValueHeaders map[string][]string
	MultiValueQuery   map[string][]string
}

// Header returns the value of a request header, case-insensitively, and
// whether it was sent at all.
func (r *Request) Header(name string) (string, bool) {
	return Header(r.Headers, name)
}

// Header finds header name in h case-insensitively, as HTTP means it, and
// reports whether it was sent at all. API Gateway hands header names over as
// the client spelled them; the exact spelling is tried first, which is the
// usual case and costs one map lookup.
func Header(h map[string]string, name string) (string, bool) {
	if v, ok := h[name]; ok {
		return v, true
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

// Response is a route's success: a status and the envelope's data, or with
// Bare the data alone as the body (the workspace surface has no envelope).
type Response struct {
	Status int
	Data   any
	Bare   bool
	// Proxy, when set, is the answer as it is (a product's net/http handler
	// wrote it, through the guard package): the adapter adds only the
	// rate-limit headers.
	Proxy *events.APIGatewayProxyResponse
}

// Handler is a route.
type Handler func(ctx context.Context, r *Request) (Response, error)

// Meter counts a key's request on a route from an address (metering.Meter).
type Meter interface {
	Count(ctx context.Context, p principal.Principal, rt route.Route, from netip.Addr) (metering.Quota, error)
}

// Lambda is the proxy-integration handler signature.
type Lambda func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Options configure an Adapter.
type Options struct {
	Meter Meter
	Log   *slog.Logger
	Clock clock.Clock // default the system clock
	// Route is the route's declaration: its scope and cost, whether it is
	// public (no authorizer: no principal, nothing metered; GitHub's secret
	// scanning reports authenticate by signature) or unmetered, and its
	// body limit (0 is MaxBody, 16 KiB).
	Route route.Route
}

// Adapter wraps a route with metering, envelopes and recovery.
func Adapter(h Handler, o Options) Lambda {
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = clock.System{}
	}
	log := o.Log
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (resp events.APIGatewayProxyResponse, _ error) {
		ctx, rec := metrics.Start(ctx) // metrics hook: one EMF line per invocation
		defer rec.Flush()
		ctx, cancel := WithinLambdaDeadline(ctx)
		defer cancel()
		start := time.Now()
		req := &Request{Headers: ev.Headers, PathParams: ev.PathParameters, Query: ev.QueryStringParameters,
			RequestID: ev.RequestContext.RequestID, Route: o.Route, UserAgent: ev.RequestContext.Identity.UserAgent,
			Path: ev.Path, MultiValueHeaders: ev.MultiValueHeaders, MultiValueQuery: ev.MultiValueQueryStringParameters}
		req.SourceIP, _ = netip.ParseAddr(ev.RequestContext.Identity.SourceIP)
		defer func() {
			if v := recover(); v != nil {
				log.ErrorContext(ctx, "panic in handler", "requestId", req.RequestID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				resp = errorResponse(apierr.Internal(fmt.Errorf("panic: %v", v)))
				if req.Principal.Method == principal.ViaKey {
					setQuotaHeaders(&resp, req.Quota)
				}
			}
			metrics.Request(ctx, metrics.RouteOf(ev.HTTPMethod, ev.Resource), resp.StatusCode) // metrics hook
			attrs := []any{
				"requestId", req.RequestID, "method", ev.HTTPMethod, "resource", ev.Resource,
				"status", resp.StatusCode, "ms", time.Since(start).Milliseconds(),
				"principal", req.Principal.ID(), "authMethod", string(req.Principal.Method),
			}
			if req.Principal.KeyPrefix != "" {
				attrs = append(attrs, "keyPrefix", req.Principal.KeyPrefix)
			}
			log.InfoContext(ctx, "request", attrs...)
		}()

		resp, err := serve(ctx, h, o, ev, req)
		if err != nil {
			e := apierr.From(err)
			if e.Code == apierr.InternalError || e.Code == apierr.ServiceUnavailable {
				log.ErrorContext(ctx, "request failed", "requestId", req.RequestID, "code", string(e.Code), "error", err)
			}
			resp = errorResponse(e)
		}
		if req.Principal.Method == principal.ViaKey && req.Quota.Limit > 0 {
			setQuotaHeaders(&resp, req.Quota)
			if resp.StatusCode == http.StatusTooManyRequests {
				resp.Headers["Retry-After"] = strconv.FormatInt(int64(max(1, ceilSeconds(req.Quota.Reset.Sub(req.Quota.At)))), 10)
			}
		}
		return resp, nil
	}
}

func serve(ctx context.Context, h Handler, o Options, ev events.APIGatewayProxyRequest, req *Request) (events.APIGatewayProxyResponse, error) {
	if !o.Route.Public {
		p, err := principal.FromContext(ev.RequestContext.Authorizer)
		if err != nil {
			return events.APIGatewayProxyResponse{}, apierr.Internal(fmt.Errorf("route reached without an authorizer principal: %w", err))
		}
		req.Principal = p
		switch p.Method {
		case principal.ViaJWT:
			if !p.Exp.IsZero() && o.Clock.Now().After(p.Exp.Add(TokenLeeway)) {
				return events.APIGatewayProxyResponse{}, apierr.New(apierr.Unauthorized, "The token has expired; sign in again or refresh it.")
			}
			// Who changes keys, and from where, for the audit log: only a
			// signed-in user manages keys (a key request never does).
			ctx = audit.WithSource(audit.WithActor(ctx, audit.User(p.Sub)), audit.Source{IP: req.SourceIP, UserAgent: req.UserAgent})
		case principal.ViaKey:
			if !p.HasScope(o.Route.Scope) {
				// API Gateway refuses this already (the authorizer's policy
				// lists only the key's routes); checked again here, before
				// anything is counted. The meter's write checks the stored
				// scopes, which a PATCH may have narrowed since.
				return events.APIGatewayProxyResponse{}, apierr.New(apierr.Forbidden,
					"This API key's scopes (%s) do not allow %s, which needs the scope %s. Give the key that scope, or use a key that has it.",
					strings.Join(p.ScopeList(), ", "), o.Route.Name(), o.Route.Scope)
			}
			q, err := o.Meter.Count(ctx, p, o.Route, req.SourceIP)
			if err != nil && q.Limit == 0 && apierr.From(err).Code == apierr.ServiceUnavailable {
				// The store did not answer: the headers carry the limit the
				// authorizer saw, and nothing remaining.
				q.Limit = p.DailyLimit
			}
			req.Quota = q
			if err != nil {
				return events.APIGatewayProxyResponse{}, err
			}
			req.Principal.DailyLimit = q.Limit
		}
	}
	if o.Route.Public {
		ctx = audit.WithSource(ctx, audit.Source{IP: req.SourceIP, UserAgent: req.UserAgent})
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return events.APIGatewayProxyResponse{}, apierr.New(apierr.BadRequest, "The request body is not valid base64.")
		}
	}
	limit := o.Route.MaxBody
	if limit <= 0 {
		limit = MaxBody
	}
	if len(body) > limit {
		return events.APIGatewayProxyResponse{}, apierr.New(apierr.BadRequest, "The request body is %d bytes; the limit is %d bytes (%d KiB).", len(body), limit, limit>>10)
	}
	req.Body = body
	out, err := h(ctx, req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
	}
	if out.Proxy != nil {
		return *out.Proxy, nil
	}
	if out.Bare {
		return jsonResponse(out.Status, out.Data), nil
	}
	return jsonResponse(out.Status, envelope{Success: true, Data: out.Data}), nil
}

type envelope struct {
	Success bool `json:"success"`
	Data    any  `json:"data"`
}

func ceilSeconds(d time.Duration) int {
	return int((d + time.Second - 1) / time.Second)
}

func setQuotaHeaders(resp *events.APIGatewayProxyResponse, q metering.Quota) {
	if resp.Headers == nil {
		resp.Headers = map[string]string{}
	}
	resp.Headers["X-RateLimit-Limit"] = strconv.Itoa(q.Limit)
	resp.Headers["X-RateLimit-Remaining"] = strconv.Itoa(q.Remaining)
	resp.Headers["X-RateLimit-Reset"] = strconv.FormatInt(q.Reset.Unix(), 10)
}

// jsonResponse renders v as the body, ending with a newline as a terminal
// user expects after curl.
func jsonResponse(status int, v any) events.APIGatewayProxyResponse {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(apierr.Internal(err).Envelope())
	}
	return events.APIGatewayProxyResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(b) + "\n",
	}
}

func errorResponse(e *apierr.Error) events.APIGatewayProxyResponse {
	return jsonResponse(apierr.Status(e.Code), e.Envelope())
}
