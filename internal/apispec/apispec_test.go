package apispec_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/keygate/keygate/internal/apispec"
)

const (
	key    = "Bearer csk_live_a1b2c3d4e5f67890abcdef1234567890"
	jwt    = "Bearer eyJhbGciOiJSUzI1NiJ9.e30.c2ln"
	origin = "https://console.example.com"
)

func hdr(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

var (
	jsonCT    = []string{"Content-Type", "application/json"}
	quota     = []string{"X-RateLimit-Limit", "250", "X-RateLimit-Remaining", "238", "X-RateLimit-Reset", "1764115200"}
	quotaPart = []string{"X-RateLimit-Limit", "250"}
	cors      = []string{"Access-Control-Allow-Origin", origin,
		"Access-Control-Expose-Headers", "X-RateLimit-Limit,X-RateLimit-Remaining,X-RateLimit-Reset,Retry-After"}
)

func join(parts ...[]string) http.Header {
	var kv []string
	for _, p := range parts {
		kv = append(kv, p...)
	}
	return hdr(kv...)
}

const (
	created = `{"success":true,"data":{"key":"csk_live_a1b2c3d4e5f67890abcdef1234567890","prefix":"csk_live_a1b2c3d4",` +
		`"id":"550e8400-e29b-41d4-a716-446655440000","name":"CI Pipeline","dailyLimit":1000,"status":"active",` +
		`"createdAt":"2026-02-14T10:00:00Z","expiresAt":null,"scopes":["*"],"allowedIps":[]}}`
	listed = `{"success":true,"data":{"keys":[{"prefix":"csk_live_a1b2c3d4","id":"550e8400-e29b-41d4-a716-446655440000",` +
		`"name":"CI Pipeline","dailyLimit":1000,"status":"revoked","createdAt":"2026-02-14T10:00:00Z",` +
		`"updatedAt":"2026-02-14T10:00:00Z","lastUsedAt":null,"expiresAt":null,"revokedAt":"2026-02-15T08:00:00Z",` +
		`"revokedReason":"owner","scopes":["*"],"allowedIps":[]}]}}`
	usage = `{"success":true,"data":{"date":"2026-11-25","resetsAt":"2026-11-26T00:00:00Z","keys":[{"prefix":` +
		`"csk_live_a1b2c3d4","name":"CI Pipeline","dailyLimit":250,"used":12,"remaining":238}]}}`
	wsKey = `{"id":"550e8400-e29b-41d4-a716-446655440000","workspace_id":"660e8400-e29b-41d4-a716-446655440000",` +
		`"name":"CI/CD Pipeline Key","key_prefix":"csk_live_abc12345","status":"active","created_by":"u1",` +
		`"created_at":"2024-01-15T09:30:00Z","updated_at":"2024-01-15T09:30:00Z","daily_limit":250,` +
		`"last_used_at":null,"expires_at":null,"scopes":["*"],"allowed_ips":[],"created_by_email":null}`
)

func errBody(code string) string {
	return `{"success":false,"error":{"code":"` + code + `","message":"Something a person can act on."}}`
}

func TestValidateResponse(t *testing.T) {
	cases := []struct {
		name           string
		method, target string
		req            http.Header
		status         int
		header         http.Header
		body           string
		wantErr        string // "" is valid
	}{
		{"a created key matches", "POST", "/v1/api-keys", hdr("Authorization", jwt), 201, join(jsonCT), created, ""},
		{"a misspelled field is caught", "POST", "/v1/api-keys", hdr("Authorization", jwt), 201, join(jsonCT),
			strings.Replace(created, `"dailyLimit"`, `"dailylimit"`, 1), "dailylimit"},
		{"a wrong type is caught", "POST", "/v1/api-keys", hdr("Authorization", jwt), 201, join(jsonCT),
			strings.Replace(created, `1000`, `"1000"`, 1), "dailyLimit"},
		{"a missing required field is caught", "POST", "/v1/api-keys", hdr("Authorization", jwt), 201, join(jsonCT),
			strings.Replace(created, `"id":"550e8400-e29b-41d4-a716-446655440000",`, ``, 1), "missing property 'id'"},
		{"a malformed key is caught", "POST", "/v1/api-keys", hdr("Authorization", jwt), 201, join(jsonCT),
			strings.Replace(created, `1234567890"`, `123456789"`, 1), "/data/key"},
		{"a local-time timestamp is caught", "POST", "/v1/api-keys", hdr("Authorization", jwt), 201, join(jsonCT),
			strings.Replace(created, `10:00:00Z`, `10:00:00+01:00`, 1), "/data/createdAt"},
		{"an undocumented status is caught", "POST", "/v1/api-keys", hdr("Authorization", jwt), 409, join(jsonCT),
			errBody("Conflict"), "status is not supported"},
		{"a listed key with null lastUsedAt matches", "GET", "/v1/api-keys?status=all", hdr("Authorization", jwt), 200,
			join(jsonCT), listed, ""},
		{"an unknown revokedReason is caught", "GET", "/v1/api-keys?status=all", hdr("Authorization", jwt), 200,
			join(jsonCT), strings.Replace(listed, `"owner"`, `"expired"`, 1), "revokedReason"},
		{"a missing nullable field is caught", "GET", "/v1/api-keys", hdr("Authorization", jwt), 200,
			join(jsonCT), strings.Replace(listed, `"lastUsedAt":null,`, ``, 1), "lastUsedAt"},
		{"a success without the envelope is caught", "GET", "/v1/usage", hdr("Authorization", jwt), 200, join(jsonCT),
			strings.TrimSuffix(strings.TrimPrefix(usage, `{"success":true,"data":`), "}"), "missing properties 'success'"},
		{"usage with a key and its headers matches", "GET", "/v1/usage?days=1", hdr("Authorization", key), 200,
			join(jsonCT, quota), usage, ""},
		{"usage with a key lacking rate-limit headers is caught", "GET", "/v1/usage", hdr("Authorization", key), 200,
			join(jsonCT), usage, "lacks X-RateLimit-Limit"},
		{"a 403 to a key lacking rate-limit headers is caught", "GET", "/v1/api-keys", hdr("Authorization", key), 403,
			join(jsonCT), errBody("Forbidden"), "lacks X-RateLimit-Limit"},
		{"a 401 to a key needs no rate-limit headers", "GET", "/v1/usage", hdr("Authorization", key), 401,
			join(jsonCT), errBody("Unauthorized"), ""},
		{"usage with a JWT needs no rate-limit headers", "GET", "/v1/usage", hdr("Authorization", jwt), 200,
			join(jsonCT), usage, ""},
		{"half the rate-limit headers are caught", "GET", "/v1/usage", hdr("Authorization", jwt), 200,
			join(jsonCT, quotaPart), usage, "come together"},
		{"a non-integer rate-limit header is caught", "GET", "/v1/usage", hdr("Authorization", key), 200,
			join(jsonCT, []string{"X-RateLimit-Limit", "lots", "X-RateLimit-Remaining", "1", "X-RateLimit-Reset", "1"}),
			usage, "X-RateLimit-Limit"},
		{"a 429 with Retry-After matches", "GET", "/v1/usage", hdr("Authorization", key), 429,
			join(jsonCT, quota, []string{"Retry-After", "3600"}), errBody("RateLimitExceeded"), ""},
		{"a 429 without Retry-After is caught", "GET", "/v1/usage", hdr("Authorization", key), 429,
			join(jsonCT, quota), errBody("RateLimitExceeded"), "Retry-After"},
		{"a status with another status's code is caught", "DELETE", "/v1/api-keys/csk_live_ffffffff",
			hdr("Authorization", jwt), 404, join(jsonCT), errBody("BadRequest"), "NotFound"},
		{"an unknown error code is caught", "DELETE", "/v1/api-keys/csk_live_ffffffff",
			hdr("Authorization", jwt), 500, join(jsonCT), errBody("Oops"), "code"},
		{"an error without a message is caught", "DELETE", "/v1/api-keys/csk_live_ffffffff",
			hdr("Authorization", jwt), 404, join(jsonCT), `{"success":false,"error":{"code":"NotFound"}}`, "message"},
		{"a JSON body sent as text is caught", "DELETE", "/v1/api-keys/csk_live_ffffffff",
			hdr("Authorization", jwt), 404, hdr("Content-Type", "text/plain"), errBody("NotFound"), "Content-Type"},
		{"an unknown route answered 404 matches", "GET", "/v1/nothing", hdr("Authorization", jwt), 404,
			join(jsonCT), errBody("NotFound"), ""},
		{"an unknown method answered 404 matches", "PUT", "/v1/api-keys", hdr("Authorization", jwt), 404,
			join(jsonCT), errBody("NotFound"), ""},
		{"an unknown route answered 200 is caught", "GET", "/v1/nothing", hdr("Authorization", jwt), 200,
			join(jsonCT), `{"success":true,"data":{}}`, "must be 404"},
		{"a workspace list is a bare array", "GET", "/api/v1/workspaces/660e8400-e29b-41d4-a716-446655440000/api-keys",
			hdr("Authorization", jwt), 200, join(jsonCT), "[" + wsKey + "]", ""},
		{"a workspace list in the envelope is caught", "GET", "/api/v1/workspaces/w1/api-keys",
			hdr("Authorization", jwt), 200, join(jsonCT), `{"success":true,"data":[` + wsKey + `]}`, "array"},
		{"a camelCase workspace field is caught", "GET", "/api/v1/workspaces/w1/api-keys",
			hdr("Authorization", jwt), 200, join(jsonCT), "[" + strings.Replace(wsKey, "key_prefix", "keyPrefix", 1) + "]",
			"keyPrefix"},
		{"a workspace revoke matches", "DELETE", "/api/v1/workspaces/w1/api-keys/550e8400-e29b-41d4-a716-446655440000",
			hdr("Authorization", jwt), 200, join(jsonCT), `{"status":"revoked"}`, ""},
		{"workspace errors use the envelope", "DELETE", "/api/v1/workspaces/w1/api-keys/550e8400-e29b-41d4-a716-446655440000",
			hdr("Authorization", jwt), 404, join(jsonCT), `{"error":"not found"}`, "success"},
		{"GitHub feedback matches", "POST", "/v1/secret-scanning/github", hdr(), 200, join(jsonCT),
			`[{"token_raw":"csk_live_x","token_type":"keygate_api_key","label":"true_positive"}]`, ""},
		{"GitHub feedback with raw and hash is caught", "POST", "/v1/secret-scanning/github", hdr(), 200, join(jsonCT),
			`[{"token_raw":"a","token_hash":"b","token_type":"t","label":"false_positive"}]`, "token_hash"},
		{"GitHub feedback with another label is caught", "POST", "/v1/secret-scanning/github", hdr(), 200, join(jsonCT),
			`[{"token_raw":"a","token_type":"t","label":"maybe"}]`, ""},
		{"a preflight matches", "OPTIONS", "/v1/api-keys", hdr("Origin", origin, "Access-Control-Request-Method", "POST"),
			204, hdr("Access-Control-Allow-Origin", origin, "Access-Control-Allow-Methods", "GET,POST"), "", ""},
		{"a preflight with a body is caught", "OPTIONS", "/v1/usage", hdr("Origin", origin), 204, hdr(), "{}", "204"},
		{"a preflight answered 200 is caught", "OPTIONS", "/v1/usage", hdr("Origin", origin), 200, hdr(), "", "200"},
		{"a preflight's Max-Age that is not a number is caught", "OPTIONS", "/v1/api-keys/csk_live_a1b2c3d4",
			hdr("Origin", origin), 204, hdr("Access-Control-Allow-Origin", origin, "Access-Control-Max-Age", "ten minutes"), "", "Access-Control-Max-Age"},
		{"a preflight of an unknown path answered 404 matches", "OPTIONS", "/v1/nothing", hdr("Origin", origin), 404,
			join(jsonCT), errBody("NotFound"), ""},
		{"a preflight of an unknown path answered 204 is caught", "OPTIONS", "/v1/nothing", hdr("Origin", origin), 204,
			hdr(), "", "must be 404"},
		{"CORS headers for the request's origin match", "GET", "/v1/usage", hdr("Authorization", jwt, "Origin", origin),
			200, join(jsonCT, cors), usage, ""},
		{"another origin in Allow-Origin is caught", "GET", "/v1/usage", hdr("Authorization", jwt, "Origin", "https://evil.example"),
			200, join(jsonCT, cors), usage, "Access-Control-Allow-Origin"},
		{"Allow-Origin without Expose-Headers is caught", "GET", "/v1/usage", hdr("Authorization", jwt, "Origin", origin),
			200, join(jsonCT, []string{"Access-Control-Allow-Origin", origin}), usage, "does not name X-RateLimit-Limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := apispec.ValidateResponse(tc.method, tc.target, tc.req, tc.status, tc.header, []byte(tc.body))
			switch {
			case tc.wantErr == "" && strings.HasSuffix(tc.name, "is caught"):
				if err == nil {
					t.Fatal("no error")
				}
				t.Logf("%v", err)
			case tc.wantErr == "":
				if err != nil {
					t.Fatalf("unexpected mismatch: %v", err)
				}
			case err == nil:
				t.Fatalf("no error, want one mentioning %q", tc.wantErr)
			case !strings.Contains(err.Error(), tc.wantErr):
				t.Fatalf("error does not mention %q:\n%v", tc.wantErr, err)
			default:
				t.Logf("%v", err)
			}
		})
	}
}

// TestKnownDeviationsNameTheDocument: every tolerated deviation names a
// schema and a required property the document has.
func TestKnownDeviationsNameTheDocument(t *testing.T) {
	if err := apispec.ValidateResponse("GET", "/v1/nothing", hdr(), 404, join(jsonCT), []byte(errBody("NotFound"))); err != nil {
		t.Fatal(err)
	}
	for _, d := range apispec.KnownDeviations {
		if d.Why == "" {
			t.Errorf("deviation of %s says no why", d.Schema)
		}
	}
}

func BenchmarkValidateResponse(b *testing.B) {
	h := join(jsonCT, quota)
	req := hdr("Authorization", key)
	for b.Loop() {
		if err := apispec.ValidateResponse("GET", "/v1/usage", req, 200, h, []byte(usage)); err != nil {
			b.Fatal(err)
		}
	}
}

// TestConcurrentUse: the e2e tests validate from many goroutines at once.
func TestConcurrentUse(t *testing.T) {
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 5 {
				if err := apispec.ValidateResponse("GET", "/v1/usage", hdr("Authorization", key), 200, join(jsonCT, quota), []byte(usage)); err != nil {
					t.Error(err)
				}
				if apispec.ValidateResponse("GET", "/v1/usage", hdr("Authorization", key), 200, join(jsonCT), []byte(usage)) == nil {
					t.Error("missing headers not caught")
				}
			}
		}()
	}
	wg.Wait()
}
