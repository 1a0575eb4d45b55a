// Package lambdahttp adapts keygate's route handlers to API Gateway (REST,
// Lambda proxy integration). Every route goes through Adapter, which is the
// one metering point: a request authenticated with a key is counted before any
// route logic runs and every response to it carries the rate-limit headers.
// Adapter also renders the JSON envelope, maps errors to statuses in one
// place, recovers panics and logs one line per request without credentials.
package lambdahttp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/principal"
)

// MaxBody is the largest request body accepted.
const MaxBody = 16 << 10

// Request is what a route handler sees.
type Request struct {
	Principal  principal.Principal
	Quota      metering.Quota // set when Principal.Method is ViaKey
	Body       []byte
	PathParams map[string]string
	Query      map[string]string
	RequestID  string
	// Headers are the request headers as received (secretscan: stand-in for
	// the lead's adapter change; the adapter does not fill it yet).
	Headers map[string]string
}

// Response is a route's success: a status and the envelope's data.
type Response struct {
	Status int
	Data   any
	// Bare writes Data as bare JSON, without the success envelope
	// (secretscan: stand-in for the lead's adapter change; not honoured yet).
	Bare bool
}

// Handler is a route.
type Handler func(ctx context.Context, r *Request) (Response, error)

// Meter counts a key's request (metering.Meter).
type Meter interface {
	Count(ctx context.Context, p principal.Principal) (metering.Quota, error)
}

// Lambda is the proxy-integration handler signature.
type Lambda func(ctx context.Context, ev events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error)

// Adapter wraps a route with metering, envelopes and recovery.
func Adapter(h Handler, m Meter, log *slog.Logger) Lambda {
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, ev events.APIGatewayProxyRequest) (resp events.APIGatewayProxyResponse, _ error) {
		start := time.Now()
		req := &Request{PathParams: ev.PathParameters, Query: ev.QueryStringParameters, RequestID: ev.RequestContext.RequestID}
		defer func() {
			if v := recover(); v != nil {
				log.ErrorContext(ctx, "panic in handler", "requestId", req.RequestID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				resp = errorResponse(apierr.Internal(fmt.Errorf("panic: %v", v)))
				if req.Principal.Method == principal.ViaKey {
					setQuotaHeaders(&resp, req.Quota)
				}
			}
			attrs := []any{
				"requestId", req.RequestID, "method", ev.HTTPMethod, "resource", ev.Resource,
				"status", resp.StatusCode, "ms", time.Since(start).Milliseconds(),
				"sub", req.Principal.Sub, "authMethod", string(req.Principal.Method),
			}
			if req.Principal.KeyPrefix != "" {
				attrs = append(attrs, "keyPrefix", req.Principal.KeyPrefix)
			}
			log.InfoContext(ctx, "request", attrs...)
		}()

		resp, err := serve(ctx, h, m, ev, req)
		if err != nil {
			e := apierr.From(err)
			if e.Code == apierr.InternalError || e.Code == apierr.ServiceUnavailable {
				log.ErrorContext(ctx, "request failed", "requestId", req.RequestID, "code", string(e.Code), "error", err)
			}
			resp = errorResponse(e)
		}
		if req.Principal.Method == principal.ViaKey {
			setQuotaHeaders(&resp, req.Quota)
			if resp.StatusCode == http.StatusTooManyRequests {
				resp.Headers["Retry-After"] = strconv.FormatInt(int64(max(1, ceilSeconds(req.Quota.Reset.Sub(req.Quota.At)))), 10)
			}
		}
		return resp, nil
	}
}

func serve(ctx context.Context, h Handler, m Meter, ev events.APIGatewayProxyRequest, req *Request) (events.APIGatewayProxyResponse, error) {
	p, err := principal.FromContext(ev.RequestContext.Authorizer)
	if err != nil {
		return events.APIGatewayProxyResponse{}, apierr.Internal(fmt.Errorf("route reached without an authorizer principal: %w", err))
	}
	req.Principal = p
	if p.Method == principal.ViaKey {
		q, err := m.Count(ctx, p)
		req.Quota = q
		if err != nil {
			return events.APIGatewayProxyResponse{}, err
		}
	}
	body := []byte(ev.Body)
	if ev.IsBase64Encoded {
		if body, err = base64.StdEncoding.DecodeString(ev.Body); err != nil {
			return events.APIGatewayProxyResponse{}, apierr.New(apierr.BadRequest, "The request body is not valid base64.")
		}
	}
	if len(body) > MaxBody {
		return events.APIGatewayProxyResponse{}, apierr.New(apierr.BadRequest, "The request body is %d bytes; the limit is %d bytes (16 KiB).", len(body), MaxBody)
	}
	req.Body = body
	out, err := h(ctx, req)
	if err != nil {
		return events.APIGatewayProxyResponse{}, err
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

func jsonResponse(status int, v any) events.APIGatewayProxyResponse {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(apierr.Internal(err).Envelope())
	}
	return events.APIGatewayProxyResponse{
		StatusCode: status,
		Headers:    map[string]string{"Content-Type": "application/json"},
		Body:       string(b),
	}
}

func errorResponse(e *apierr.Error) events.APIGatewayProxyResponse {
	return jsonResponse(apierr.Status(e.Code), e.Envelope())
}

// DecodeJSON reads a JSON object body into v, a pointer to a struct, strictly:
// a field name must match a json tag exactly (encoding/json alone would take
// "NAME" for "name"), and unknown fields, trailing data and wrong types are
// 400s that name the field.
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apierr.New(apierr.BadRequest, "The request body is empty; send a JSON object.")
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apierr.New(apierr.BadRequest, "The request body must be a single JSON object with nothing after it.")
	}
	if fields == nil {
		return apierr.New(apierr.BadRequest, "The request body must be a JSON object.")
	}
	known := jsonFields(reflect.TypeOf(v).Elem())
	for name := range fields {
		if !known[name] {
			return apierr.New(apierr.BadRequest, "Field '%s' is not a field of this request.", name)
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return decodeError(err)
	}
	return nil
}

var fieldSets sync.Map // reflect.Type -> map[string]bool

// jsonFields is the set of JSON names of a struct type's fields.
func jsonFields(t reflect.Type) map[string]bool {
	if m, ok := fieldSets.Load(t); ok {
		return m.(map[string]bool)
	}
	m := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = true
	}
	fieldSets.Store(t, m)
	return m
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return apierr.New(apierr.BadRequest, "The request body is not valid JSON (error at byte %d).", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return apierr.New(apierr.BadRequest, "The request body must be a JSON object.")
		}
		want := typ.Type.String()
		if strings.HasPrefix(want, "int") || want == "*int" {
			want = "an integer"
		} else if strings.Contains(want, "string") {
			want = "a string"
		}
		return apierr.New(apierr.BadRequest, "Field '%s' must be %s.", typ.Field, want)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apierr.New(apierr.BadRequest, "The request body is not valid JSON (it ends too early).")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apierr.New(apierr.BadRequest, "Field '%s' is not a field of this request.", field)
	default:
		return apierr.New(apierr.BadRequest, "The request body is not valid JSON.")
	}
}
