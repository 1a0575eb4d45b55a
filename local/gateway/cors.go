package gateway

import (
	"net/http"
	"slices"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// WithCORS puts the browser side of the deployed API in front of g: a
// preflight (OPTIONS) to a route's path is answered without a credential and
// without calling the authorizer, and every other response to an allowed
// origin, gateway-made errors included, carries Access-Control-Allow-Origin and
// exposes the rate-limit headers (infra configures the same on the deployed
// gateway responses). Header names go out exactly as the contract writes them:
// they are written into the header map directly, past Go's canonicalisation.
func WithCORS(g *Gateway, c *lambdahttp.CORS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		if r.Method == http.MethodOptions {
			methods := g.methods(r.URL.Path)
			if len(methods) == 0 {
				setHeaders(w, c.PreflightHeaders(origin, nil))
				writeError(w, apierr.NotFound, g.noRouteMessage())
				return
			}
			setHeaders(w, c.PreflightHeaders(origin, methods))
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h := map[string]string{}
		c.Headers(origin, h)
		setHeaders(w, h)
		g.ServeHTTP(w, r)
	})
}

// methods are the methods configured on the resource that path matches.
func (g *Gateway) methods(path string) []string {
	var out []string
	for _, rt := range g.Routes {
		if m, _ := g.match(rt.Method, path); m != nil && !slices.Contains(out, rt.Method) {
			out = append(out, rt.Method)
		}
	}
	return out
}

func setHeaders(w http.ResponseWriter, h map[string]string) {
	for k, v := range h {
		w.Header()[k] = []string{v}
	}
}
