package guard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/keygate/keygate/guard"
)

// A Lambda that serves one route with a HandlerFunc. Start reads
// KEYGATE_TABLE and KEYGATE_ROUTES (set by keygate's CDK construct) and never
// returns.
func ExampleStart() {
	guard.Start(guard.HandlerFunc(func(ctx context.Context, r *guard.Request) (guard.Response, error) {
		caller, _ := guard.PrincipalFrom(ctx)
		return guard.Response{Data: map[string]string{"hello": caller.Owner()}}, nil
	}))
}

// A HandlerFunc reads the request, the caller from its context, and answers
// with data for the envelope or an error for the client.
func ExampleHandlerFunc() {
	getReport := guard.HandlerFunc(func(ctx context.Context, r *guard.Request) (guard.Response, error) {
		caller, _ := guard.PrincipalFrom(ctx)
		id := r.PathParams["id"]
		if id != "r-1" {
			return guard.Response{}, guard.Errorf(guard.NotFound, "No report %q for %s.", id, caller.Owner())
		}
		return guard.Response{Data: map[string]string{"id": id, "owner": caller.Owner()}}, nil
	})

	// Tested as keygate would call it, with a caller in the context.
	ctx := guard.WithPrincipal(context.Background(), guard.Principal{Kind: guard.KindKey, Sub: "alice", Scopes: []string{"reports:read"}})
	out, err := getReport(ctx, &guard.Request{Method: "GET", Path: "/v1/reports/r-1", PathParams: map[string]string{"id": "r-1"}})
	fmt.Println(out.Data, err)
	_, err = getReport(ctx, &guard.Request{Method: "GET", Path: "/v1/reports/r-2", PathParams: map[string]string{"id": "r-2"}})
	fmt.Println(err)
	// Output:
	// map[id:r-1 owner:alice] <nil>
	// NotFound: No report "r-2" for alice.
}

// HTTP runs a net/http handler, a ServeMux with its patterns included,
// behind keygate; the caller is in the request's context.
func ExampleHTTP() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/reports/{id}", func(w http.ResponseWriter, r *http.Request) {
		caller, _ := guard.PrincipalFrom(r.Context())
		guard.WriteData(w, http.StatusOK, map[string]string{"id": r.PathValue("id"), "kind": string(caller.Kind)})
	})
	handler := guard.HTTP(mux)
	_ = handler // guard.Start(handler) in the Lambda's main

	// The same mux in a test, with a caller in the context.
	req := httptest.NewRequest("GET", "/v1/reports/r-1", nil)
	req = req.WithContext(guard.WithPrincipal(req.Context(), guard.Principal{Kind: guard.KindUser, Sub: "alice"}))
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 200 {"success":true,"data":{"id":"r-1","kind":"user"}}
}

// Routes gives each of a Lambda's routes its own handler, in either style.
func ExampleRoutes() {
	list := guard.HandlerFunc(func(ctx context.Context, r *guard.Request) (guard.Response, error) {
		return guard.Response{Data: map[string]any{"reports": []string{}}}, nil
	})
	create := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		guard.WriteData(w, http.StatusCreated, map[string]any{"report": map[string]string{"id": "r-1"}})
	})
	guard.Start(guard.Routes{
		"GET /v1/reports":  list,
		"POST /v1/reports": guard.HTTP(create),
	})
}

// Errorf is a failure with one of the contract's codes; the client gets the
// envelope with the code's status.
func ExampleErrorf() {
	err := guard.Errorf(guard.Conflict, "Report %q is already archived.", "r-1")
	fmt.Println(err)
	// Output: Conflict: Report "r-1" is already archived.
}

// DecodeJSON reads a request body as strictly as keygate's own routes and
// names the field at fault.
func ExampleDecodeJSON() {
	var in struct {
		Title string `json:"title"`
	}
	fmt.Println(guard.DecodeJSON([]byte(`{"title":"Q3"}`), &in), in.Title)
	fmt.Println(guard.DecodeJSON([]byte(`{"titel":"Q3"}`), &in))
	fmt.Println(guard.DecodeJSON([]byte(`{"title":3}`), &in))
	// Output:
	// <nil> Q3
	// BadRequest: Field 'titel' is not a field of this request.
	// BadRequest: Field 'title' must be a string.
}

// WriteError ends a net/http handler's answer with an error: under Start,
// keygate renders it (and logs a 500's cause); elsewhere it writes the
// envelope itself.
func ExampleWriteError() {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var in struct {
			Title string `json:"title"`
		}
		if err := guard.DecodeJSON(body, &in); err != nil {
			guard.WriteError(w, err)
			return
		}
		guard.WriteData(w, http.StatusCreated, in)
	})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/reports", strings.NewReader(`{"title":`)))
	fmt.Print(rec.Code, " ", rec.Body.String())
	// Output:
	// 400 {"success":false,"error":{"code":"BadRequest","message":"The request body is not valid JSON (it ends too early)."}}
}

// Owner keeps a caller's data apart: a personal key acts as its owner, a
// workspace's key as the workspace, and identities from a second user pool
// carry its tag.
func ExamplePrincipal_Owner() {
	fmt.Println(guard.Principal{Kind: guard.KindUser, Sub: "alice"}.Owner())
	fmt.Println(guard.Principal{Kind: guard.KindKey, Sub: "alice", KeyPrefix: "csk_live_0123abcd"}.Owner())
	fmt.Println(guard.Principal{Kind: guard.KindKey, WorkspaceID: "acme"}.Owner())
	fmt.Println(guard.Principal{Kind: guard.KindUser, Sub: "alice", IssuerTag: "5f2b9c01"}.Owner())
	// Output:
	// alice
	// alice
	// workspace:acme
	// 5f2b9c01|alice
}

// HasScope tells what the caller's key may do; a signed-in user holds every
// scope.
func ExamplePrincipal_HasScope() {
	readOnly := guard.Principal{Kind: guard.KindKey, Scopes: []string{"reports:read"}}
	user := guard.Principal{Kind: guard.KindUser, Scopes: []string{guard.AllScopes}}
	fmt.Println(readOnly.HasScope("reports:read"), readOnly.HasScope("reports:write"), user.HasScope("reports:write"))
	// Output: true false true
}

// PrincipalFrom is who is calling: a signed-in user, or an API key with its
// prefix, scopes and daily limit.
func ExamplePrincipalFrom() {
	h := guard.HandlerFunc(func(ctx context.Context, r *guard.Request) (guard.Response, error) {
		caller, ok := guard.PrincipalFrom(ctx)
		if !ok { // only on a route declared Public
			return guard.Response{}, guard.Errorf(guard.Unauthorized, "Sign in or send an API key.")
		}
		if caller.Kind == guard.KindKey {
			fmt.Println("key", caller.KeyPrefix, caller.Scopes, caller.DailyLimit)
		}
		return guard.Response{}, nil
	})
	ctx := guard.WithPrincipal(context.Background(), guard.Principal{
		Kind: guard.KindKey, Sub: "alice", KeyPrefix: "csk_live_0123abcd", Scopes: []string{"reports:read"}, DailyLimit: 250,
	})
	_, _ = h(ctx, &guard.Request{})
	_, err := h(context.Background(), &guard.Request{})
	fmt.Println(err)
	// Output:
	// key csk_live_0123abcd [reports:read] 250
	// Unauthorized: Sign in or send an API key.
}

// WithPrincipal puts a caller in a context, as keygate does for every
// request: a product's tests call their handlers with it.
func ExampleWithPrincipal() {
	ctx := guard.WithPrincipal(context.Background(), guard.Principal{Kind: guard.KindKey, WorkspaceID: "acme", Scopes: []string{"reports:read"}})
	caller, _ := guard.PrincipalFrom(ctx)
	fmt.Println(caller.Owner(), caller.HasScope("reports:write"))
	// Output: workspace:acme false
}

// WriteData answers a net/http handler's request with the success envelope.
func ExampleWriteData() {
	rec := httptest.NewRecorder()
	guard.WriteData(rec, http.StatusCreated, map[string]string{"id": "r-1"})
	fmt.Print(rec.Code, " ", rec.Header().Get("Content-Type"), " ", rec.Body.String())
	// Output:
	// 201 application/json {"success":true,"data":{"id":"r-1"}}
}

// A Response is data for the envelope, with headers if needed, or a body of
// another type sent as it is.
func ExampleResponse() {
	created := guard.Response{
		Status: http.StatusCreated,
		Data:   map[string]string{"id": "r-1"},
		Header: http.Header{"Location": {"/v1/reports/r-1"}},
	}
	csv := guard.Response{
		Body:   []byte("id,title\nr-1,Q3\n"),
		Header: http.Header{"Content-Type": {"text/csv"}},
	}
	fmt.Println(created.Status, csv.Header.Get("Content-Type"))
	// Output: 201 text/csv
}

// Header reads a request's headers (never Authorization); in a test, fill
// them the same way.
func ExampleRequest_Header() {
	h := guard.HandlerFunc(func(ctx context.Context, r *guard.Request) (guard.Response, error) {
		return guard.Response{Data: r.Header().Get("X-Trace")}, nil
	})
	r := &guard.Request{Method: "GET", Path: "/v1/reports"}
	r.Header().Set("X-Trace", "t-1")
	out, _ := h(context.Background(), r)
	fmt.Println(out.Data)
	// Output: t-1
}
