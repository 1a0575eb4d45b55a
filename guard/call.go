package guard

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// call is one request on its way to a product handler: one allocation holds
// the principal the context points to and the request the handler gets.
type call struct {
	in        *lambdahttp.Request
	principal Principal
	req       Request
	// For a net/http handler: its request's body and its response writer.
	body bodyReader
	w    responseWriter
}

func newCall(in *lambdahttp.Request) *call {
	return &call{in: in}
}

// context puts the caller's principal in ctx (none on a public route).
func (c *call) context(ctx context.Context) context.Context {
	if c.in.Route.Public || c.in.Principal.Method == "" {
		return ctx
	}
	c.principal = principalOf(c.in.Principal)
	return context.WithValue(ctx, principalKey{}, &c.principal)
}

// path is the request's path as sent, or, from an event without one, the
// declared path with its parameters filled in.
func (c *call) path() string {
	if c.in.Path != "" {
		return c.in.Path
	}
	p := c.in.Route.Path
	for name, v := range c.in.PathParams {
		p = strings.Replace(p, "{"+name+"}", v, 1)
		p = strings.Replace(p, "{"+name+"+}", v, 1)
	}
	return p
}

func (c *call) query() url.Values {
	if c.in.MultiValueQuery != nil {
		return url.Values(c.in.MultiValueQuery)
	}
	if len(c.in.Query) == 0 {
		return nil
	}
	q := make(url.Values, len(c.in.Query))
	for k, v := range c.in.Query {
		q[k] = []string{v}
	}
	return q
}

// headerOf is the request's headers by canonical name, without the
// credential. The values are the event's own slices (one request, one
// reader); names spelled two ways are merged.
func headerOf(in *lambdahttp.Request) http.Header {
	multi := in.MultiValueHeaders
	h := make(http.Header, max(len(multi), len(in.Headers)))
	if multi != nil {
		for k, vs := range multi {
			addHeader(h, k, vs)
		}
		return h
	}
	for k, v := range in.Headers {
		addHeader(h, k, []string{v})
	}
	return h
}

func addHeader(h http.Header, name string, vs []string) {
	name = canonicalName(name)
	if name == "Authorization" {
		return
	}
	if old, ok := h[name]; ok {
		vs = append(old[:len(old):len(old)], vs...)
	}
	h[name] = vs
}

// canonicalNames remembers the canonical spelling of the header names
// clients send (HTTP/2 sends them all in lower case), so the usual ones cost
// one lookup in a map no request writes to, not a scan or an allocation. A
// new name replaces the map by a copy with it, until maxCanonicalNames.
var canonicalNames atomic.Pointer[map[string]string]

// maxCanonicalNames bounds the memory: names past it are worked out each time.
const maxCanonicalNames = 256

func canonicalName(name string) string {
	known := canonicalNames.Load()
	if known != nil {
		if c, ok := (*known)[name]; ok {
			return c
		}
	}
	c := textproto.CanonicalMIMEHeaderKey(name)
	if known == nil || len(*known) < maxCanonicalNames {
		next := make(map[string]string, 1+lenOf(known))
		if known != nil {
			maps.Copy(next, *known)
		}
		next[name] = c
		canonicalNames.CompareAndSwap(known, &next) // a lost race only skips remembering
	}
	return c
}

func lenOf(m *map[string]string) int {
	if m == nil {
		return 0
	}
	return len(*m)
}

// render turns a HandlerFunc's Response into the adapter's: the envelope
// the adapter renders itself when there is nothing else to send, else the
// whole answer.
func (c *call) render(out Response) (lambdahttp.Response, error) {
	status := out.Status
	if status == 0 {
		status = http.StatusOK
	}
	if status < 100 || status > 599 {
		return lambdahttp.Response{}, apierr.Internal(fmt.Errorf("handler of %s answered status %d", c.in.Route.Name(), out.Status))
	}
	if status >= 400 && out.Body == nil {
		return lambdahttp.Response{}, apierr.Internal(fmt.Errorf("handler of %s answered status %d without a body; return guard.Errorf for a failure", c.in.Route.Name(), status))
	}
	if out.Body == nil && len(out.Header) == 0 && bodyAllowed(status) {
		return lambdahttp.Response{Status: status, Data: out.Data}, nil
	}
	body, header := out.Body, out.Header
	if body == nil && bodyAllowed(status) {
		b, err := envelopeJSON(out.Data)
		if err != nil {
			return lambdahttp.Response{}, apierr.Internal(fmt.Errorf("render %s: %w", c.in.Route.Name(), err))
		}
		body = b
		header = header.Clone()
		if header == nil {
			header = http.Header{}
		}
		header.Set("Content-Type", "application/json")
	}
	return lambdahttp.Response{Proxy: proxyResponse(status, header, body)}, nil
}

// bodyAllowed is false for the statuses HTTP sends without a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// envelope is the success body, as keygate's own routes render it.
type envelope struct {
	Success bool `json:"success"`
	Data    any  `json:"data"`
}

// envelopeJSON is the success envelope around data, ending in a newline as
// every keygate answer does.
func envelopeJSON(data any) ([]byte, error) {
	b, err := json.Marshal(envelope{Success: true, Data: data})
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// proxyResponse is an answer as API Gateway takes it: a header with one
// value in Headers, with several in MultiValueHeaders; a body that is not
// UTF-8 text in base64; a body's type sniffed when the handler named none,
// as net/http does.
func proxyResponse(status int, header http.Header, body []byte) *events.APIGatewayProxyResponse {
	if !bodyAllowed(status) {
		body = nil
	}
	resp := &events.APIGatewayProxyResponse{StatusCode: status, Headers: make(map[string]string, len(header)+4)}
	for k, vs := range header {
		switch len(vs) {
		case 0:
		case 1:
			resp.Headers[k] = vs[0]
		default:
			if resp.MultiValueHeaders == nil {
				resp.MultiValueHeaders = map[string][]string{}
			}
			resp.MultiValueHeaders[k] = vs
		}
	}
	if _, named := header["Content-Type"]; !named && len(body) > 0 {
		resp.Headers["Content-Type"] = http.DetectContentType(body)
	}
	if utf8.Valid(body) {
		resp.Body = string(body)
	} else {
		resp.Body, resp.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
	}
	return resp
}
