package devstack

import (
	"net/http"

	"github.com/keygate/keygate/docs"
)

// OpenAPIPath is where local mode serves the API's OpenAPI document, with no
// credential. The deployed API does not serve it; the document is in the
// repository (docs/openapi.yaml).
const OpenAPIPath = "/openapi.json"

// withOpenAPI serves GET OpenAPIPath and hands every other request to next.
func withOpenAPI(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != OpenAPIPath || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			next.ServeHTTP(w, r)
			return
		}
		b, err := docs.JSON()
		if err != nil {
			http.Error(w, "docs/openapi.yaml does not convert to JSON: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(b)
	})
}
