package guard

import (
	"bytes"
	"context"
	"net/http"
	"net/netip"
	"net/url"

	"github.com/keygate/keygate/shared/lambdahttp"
)

// HTTP runs a net/http handler behind keygate: it gets the request as
// net/http would (method, URL with path and query, headers without
// Authorization, body, RemoteAddr the caller's address with port 0) with the
// caller's Principal in its context, and what it writes is the answer, to
// which keygate adds its rate-limit and CORS headers. The answer is
// buffered, not streamed. Report failures with WriteError, so they are
// keygate's envelope and a 500's cause is logged.
func HTTP(h http.Handler) Handler { return httpHandler{h} }

type httpHandler struct{ h http.Handler }

func (b httpHandler) serve(ctx context.Context, in *lambdahttp.Request) (lambdahttp.Response, error) {
	c := newCall(in)
	ctx = c.context(ctx)
	r := c.httpRequest(ctx)
	w := &c.w
	w.header = http.Header{}
	b.h.ServeHTTP(w, r)
	if w.err != nil {
		return lambdahttp.Response{}, w.err
	}
	status := w.status
	if status == 0 {
		status = http.StatusOK
	}
	return lambdahttp.Response{Proxy: proxyResponse(status, w.header, w.body.Bytes())}, nil
}

// httpRequest is the request as a net/http server would have made it.
func (c *call) httpRequest(ctx context.Context) *http.Request {
	u := &url.URL{Path: c.path()}
	if q := c.query(); len(q) > 0 {
		u.RawQuery = q.Encode()
	}
	header := headerOf(c.in)
	r := &http.Request{
		Method:        c.in.Route.Method,
		URL:           u,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        header,
		Body:          http.NoBody,
		ContentLength: int64(len(c.in.Body)),
		Host:          header.Get("Host"),
		RequestURI:    u.RequestURI(),
	}
	if len(c.in.Body) > 0 {
		c.body.Reset(c.in.Body)
		r.Body = &c.body
	}
	if c.in.SourceIP.IsValid() {
		r.RemoteAddr = netip.AddrPortFrom(c.in.SourceIP, 0).String()
	}
	return r.WithContext(ctx)
}

// bodyReader is a request body read from memory.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// responseWriter buffers a net/http handler's answer.
type responseWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
	err    error // set by WriteError: the answer is keygate's error envelope
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.status != 0 || status < 200 || status > 599 {
		return // as net/http: the first status counts; 1xx are not answers here
	}
	w.status = status
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

// findWriter finds the guard's writer under middleware that wraps it and
// says so with Unwrap, as http.ResponseController expects.
func findWriter(w http.ResponseWriter) *responseWriter {
	for range 16 {
		switch v := w.(type) {
		case *responseWriter:
			return v
		case interface{ Unwrap() http.ResponseWriter }:
			w = v.Unwrap()
		default:
			return nil
		}
	}
	return nil
}
