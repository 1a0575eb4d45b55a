package stack

import (
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestCORSPreflight: every resource with a route answers OPTIONS without a
// credential (mock integration, no authorizer, no Lambda), with the
// contract's headers and exactly that resource's methods.
func TestCORSPreflight(t *testing.T) {
	for _, config := range []string{"dev", "prod"} {
		s := fixture(t, config)
		paths := routePaths(s)
		distID := idOf(s.k.Stack, s.k.Console.Distribution.Node().DefaultChild())
		methodsOf := map[string][]string{}
		for _, r := range Routes {
			methodsOf[r.Path] = append(methodsOf[r.Path], r.Method)
		}
		preflights := 0
		for _, m := range s.resources("AWS::ApiGateway::Method") {
			if props(m)["HttpMethod"] == "OPTIONS" {
				preflights++
			}
		}
		if preflights != len(methodsOf) {
			t.Errorf("%s: %d OPTIONS methods, want one per routed resource (%d)", config, preflights, len(methodsOf))
		}
		for path, methods := range methodsOf {
			t.Run(config+" "+path, func(t *testing.T) {
				p := s.method(paths, "OPTIONS", path)
				if p == nil {
					t.Fatal("no OPTIONS method")
				}
				if p["AuthorizationType"] != "NONE" || p["AuthorizerId"] != nil {
					t.Errorf("authorization %v %v: a preflight carries no credential", p["AuthorizationType"], p["AuthorizerId"])
				}
				integ := p["Integration"].(map[string]any)
				if integ["Type"] != "MOCK" {
					t.Errorf("integration %v, want MOCK (nothing invoked)", integ["Type"])
				}
				resp := asSlice(integ["IntegrationResponses"])[0].(map[string]any)
				hdr := resp["ResponseParameters"].(map[string]any)
				const h = "method.response.header."
				want := map[string]string{
					h + "Access-Control-Allow-Headers": "'Authorization,Content-Type,X-Workspace-ID'",
					h + "Access-Control-Allow-Methods": "'" + strings.Join(append(slices.Clone(methods), "OPTIONS"), ",") + "'",
					h + "Access-Control-Max-Age":       "'600'",
					h + "Vary":                         "'Origin'",
				}
				for k, v := range want {
					if hdr[k] != v {
						t.Errorf("%s = %v, want %s", k, hdr[k], v)
					}
				}
				if _, ok := hdr[h+"Access-Control-Allow-Credentials"]; ok {
					t.Error("credentials allowed: keygate uses bearer headers, never cookies")
				}
				origin, _ := json.Marshal(hdr[h+"Access-Control-Allow-Origin"])
				if !refersTo(hdr[h+"Access-Control-Allow-Origin"], distID) || !strings.Contains(string(origin), `"'https://"`) {
					t.Errorf("Access-Control-Allow-Origin = %s, want the console's origin", origin)
				}
				templates, _ := resp["ResponseTemplates"].(map[string]any)
				tmpl, _ := templates["application/json"].(string)
				if config == "dev" && tmpl != "" {
					t.Errorf("dev (console origin only) renders a template: %q", tmpl)
				}
				if config == "prod" {
					// Extra origins are echoed only when the request names one.
					for _, o := range []string{`$origin == "https://app.example.com"`, `$origin == "http://localhost:5173"`,
						"#set($context.responseOverride.header.Access-Control-Allow-Origin = $origin)"} {
						if !strings.Contains(tmpl, o) {
							t.Errorf("template lacks %s:\n%s", o, tmpl)
						}
					}
				}
			})
		}
	}
}

// TestGatewayResponsesCORS: gateway-made errors (401, 403, 429, 503, ...) are
// readable by the console: its origin, and the rate-limit headers exposed.
func TestGatewayResponsesCORS(t *testing.T) {
	s := fixture(t, "prod")
	distID := idOf(s.k.Stack, s.k.Console.Distribution.Node().DefaultChild())
	responses := s.resources("AWS::ApiGateway::GatewayResponse")
	if len(responses) != len(GatewayResponses) {
		t.Errorf("%d gateway responses, want %d", len(responses), len(GatewayResponses))
	}
	for _, r := range responses {
		p := props(r)
		hdr := p["ResponseParameters"].(map[string]any)
		origin := hdr["gatewayresponse.header.Access-Control-Allow-Origin"]
		if !refersTo(origin, distID) {
			t.Errorf("%s: Access-Control-Allow-Origin = %v, want the console's origin", p["ResponseType"], origin)
		}
		if got := hdr["gatewayresponse.header.Access-Control-Expose-Headers"]; got != "'X-RateLimit-Limit,X-RateLimit-Remaining,X-RateLimit-Reset,Retry-After'" {
			t.Errorf("%s: Access-Control-Expose-Headers = %v", p["ResponseType"], got)
		}
	}
}

// TestNotFoundListsEveryRoute: the 404 for an unknown route names them all.
func TestNotFoundListsEveryRoute(t *testing.T) {
	var msg string
	for _, g := range GatewayResponses {
		if g.Type == "MISSING_AUTHENTICATION_TOKEN" {
			if err := json.Unmarshal([]byte(g.Message), &msg); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, want := range []string{
		"POST|GET /v1/api-keys,", "PATCH|DELETE /v1/api-keys/{prefix},", "POST /v1/api-keys/{prefix}/rotate,",
		"GET /v1/usage,", "GET|POST /api/v1/workspaces/{id}/api-keys,", "DELETE /api/v1/workspaces/{id}/api-keys/{keyId},",
		"POST /api/v1/workspaces/{id}/api-keys/{keyId}/rotate,", "POST /v1/secret-scanning/github.",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("404 message %q lacks %q", msg, want)
		}
	}
	if strings.ContainsAny(msg, "$#") {
		t.Errorf("404 message %q has a VTL character", msg)
	}
}

// TestRoutesMatchServiceCode: the stack's routes are functions/handlers'
// route table (which local mode serves): same function, method, path and
// authorizer, in the same order. Read from its source: infra is its own module.
func TestRoutesMatchServiceCode(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "../../functions/handlers/routes.go", nil, 0)
	if err != nil {
		serviceCodeUnreadable(t, err)
	}
	var got []Route
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok || len(vs.Names) != 1 || vs.Names[0].Name != "Routes" || len(vs.Values) != 1 {
			return true
		}
		for _, e := range vs.Values[0].(*ast.CompositeLit).Elts {
			var r Route
			for _, kv := range e.(*ast.CompositeLit).Elts {
				kv := kv.(*ast.KeyValueExpr)
				key := kv.Key.(*ast.Ident).Name
				switch v := kv.Value.(type) {
				case *ast.BasicLit:
					s, _ := strconv.Unquote(v.Value)
					switch key {
					case "Function":
						r.Lambda = s
					case "Method":
						r.Method = s
					case "Path":
						r.Path = s
					}
				case *ast.Ident:
					if key == "Public" {
						r.Public = v.Name == "true"
					}
				}
			}
			got = append(got, r)
		}
		return false
	})
	if !slices.Equal(got, Routes) {
		t.Errorf("routes differ from functions/handlers/routes.go:\n infra    %v\n handlers %v", Routes, got)
	}
}
