package docs_test

import (
	"github.com/keygate/keygate/examples/reports"
	"github.com/keygate/keygate/route"

	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	yaml "go.yaml.in/yaml/v4"

	"github.com/keygate/keygate/docs"
	"github.com/keygate/keygate/internal/apispec"
)

// TestDocumentIsValidOpenAPI31 validates openapi.yaml with kin-openapi, every
// example against its schema included.
func TestDocumentIsValidOpenAPI31(t *testing.T) {
	doc, err := docs.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi is %q, want 3.1.x", doc.OpenAPI)
	}
	if err := doc.Validate(context.Background(), openapi3.EnableExamplesValidation(), openapi3.EnableMultiError()); err != nil {
		t.Fatalf("docs/openapi.yaml is not valid:\n%v", err)
	}
}

// TestEveryRouteOfTheContract: the document lists exactly the contract's
// routes, and every operation answers the errors the gateway can make. CORS
// preflights are not operations (a generated client would grow a method for
// each): the document describes them once, under x-cors-preflight.
func TestEveryRouteOfTheContract(t *testing.T) {
	doc, err := docs.Load()
	if err != nil {
		t.Fatal(err)
	}
	// Every route of the route table (keygate's own and the example
	// product's, which local mode serves).
	want := map[string][]string{}
	for _, rt := range append(route.Keygate, reports.Routes...) {
		want[rt.Path] = append(want[rt.Path], rt.Method)
	}
	for _, methods := range want {
		slices.Sort(methods)
	}
	got := map[string][]string{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			got[path] = append(got[path], method)
			statuses := op.Responses.Map()
			var need []string
			switch {
			case method == "OPTIONS":
				t.Errorf("OPTIONS %s is an operation: describe preflights under x-cors-preflight only", path)
			case len(*op.Security) == 0: // GitHub's calls: no authorizer
				need = []string{"400", "401", "413", "429", "500", "503", "504"}
			default:
				need = []string{"400", "401", "403", "413", "429", "500", "503", "504"}
			}
			if op.RequestBody != nil {
				need = append(need, "415")
			}
			for _, s := range need {
				if statuses[s] == nil {
					t.Errorf("%s %s does not document %s", method, path, s)
				}
			}
			if strings.Contains(path, "/rotate") && method == "POST" && statuses["409"] == nil {
				t.Errorf("%s %s does not document 409 Conflict", method, path)
			}
		}
		slices.Sort(got[path])
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("routes\n got %v\nwant %v", got, want)
	}
}

// TestErrorCodesMatchTheContract: the envelope's code enum is the contract's
// table, and each error response pins its status's code.
func TestErrorCodesMatchTheContract(t *testing.T) {
	doc, err := docs.Load()
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	for _, v := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		codes = append(codes, v.(string))
	}
	want := []string{"BadRequest", "Unauthorized", "Forbidden", "NotFound", "Conflict", "PayloadTooLarge",
		"UnsupportedMediaType", "RateLimitExceeded", "InternalError", "ServiceUnavailable", "GatewayTimeout"}
	if !reflect.DeepEqual(codes, want) {
		t.Errorf("error codes %v, want %v", codes, want)
	}
	var raw struct {
		Components struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema struct {
						Ref string `yaml:"$ref"`
					}
				}
			}
			Schemas map[string]struct {
				Properties map[string]struct {
					Properties map[string]struct {
						Const any
					}
				}
			}
		}
	}
	if err := yaml.Unmarshal(docs.YAML(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, code := range want {
		resp, ok := raw.Components.Responses[code]
		if !ok {
			t.Errorf("no components.responses.%s", code)
			continue
		}
		schema := strings.TrimPrefix(resp.Content["application/json"].Schema.Ref, "#/components/schemas/")
		pinned := raw.Components.Schemas[schema].Properties["error"].Properties["code"].Const
		if pinned != code {
			t.Errorf("response %s (schema %q) pins code %v", code, schema, pinned)
		}
	}
	if h := doc.Components.Responses["RateLimitExceeded"].Value.Headers["Retry-After"]; h == nil || !h.Value.Required {
		t.Error("429 does not require Retry-After")
	}
}

// TestJSONIsTheSameDocument: /openapi.json is the YAML, member order kept.
func TestJSONIsTheSameDocument(t *testing.T) {
	j, err := docs.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON, fromYAML any
	if err := json.Unmarshal(j, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(docs.YAML(), &fromYAML); err != nil {
		t.Fatal(err)
	}
	// YAML decodes integers as int; JSON as float64: compare through JSON.
	y, _ := json.Marshal(fromYAML)
	var yj any
	_ = json.Unmarshal(y, &yj)
	if !reflect.DeepEqual(fromJSON, yj) {
		t.Fatal("JSON and YAML documents differ")
	}
	if !strings.HasPrefix(string(j), "{\n  \"openapi\": \"3.1.0\",\n  \"info\"") {
		t.Errorf("JSON does not start with openapi and info: %.60s", j)
	}
}

// TestNothingLinksOutsideTheRepository: the docs are self-contained.
func TestNothingLinksOutsideTheRepository(t *testing.T) {
	for _, f := range []string{"openapi.yaml", "API.md"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`\]\(([^)]+)\)`).FindAllStringSubmatch(string(b), -1) {
			link := m[1]
			path, _, _ := strings.Cut(link, "#")
			switch {
			case strings.Contains(link, ":"):
				t.Errorf("%s links outside the repository: %s", f, link)
			case path == "":
				if anchor := strings.TrimPrefix(link, "#"); !slices.Contains(headingAnchors(string(b)), anchor) {
					t.Errorf("%s links to #%s, which is no heading of it", f, anchor)
				}
			case strings.HasPrefix(filepath.Clean(path), "../.."):
				t.Errorf("%s links outside the repository: %s", f, link)
			default:
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s links to %s, which does not exist", f, link)
				}
			}
		}
	}
}

// headingAnchors are the anchors a Markdown renderer gives the headings of md.
func headingAnchors(md string) []string {
	var out []string
	for _, line := range strings.Split(md, "\n") {
		h, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteByte('-')
			}
		}
		out = append(out, b.String())
	}
	return out
}

// TestPreflightIsDescribedOnce: x-cors-preflight reads as an operation that
// answers 204 with the CORS headers, and no path lists OPTIONS.
func TestPreflightIsDescribedOnce(t *testing.T) {
	doc, err := docs.Load()
	if err != nil {
		t.Fatal(err)
	}
	op, err := apispec.Preflight(doc)
	if err != nil {
		t.Fatal(err)
	}
	headers := op.Responses.Status(204).Value.Headers
	for _, h := range []string{"Access-Control-Allow-Origin", "Access-Control-Allow-Methods", "Access-Control-Allow-Headers", "Access-Control-Max-Age"} {
		if headers[h] == nil {
			t.Errorf("the preflight answer does not describe %s", h)
		}
	}
	for path, item := range doc.Paths.Map() {
		if item.Options != nil {
			t.Errorf("%s lists OPTIONS as an operation", path)
		}
	}
}
