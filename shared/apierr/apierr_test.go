package apierr

import "testing"

// TestOneCodePerStatus: each code has its own status and each status one
// code, as the contract's error table says.
func TestOneCodePerStatus(t *testing.T) {
	want := map[Code]int{
		BadRequest: 400, Unauthorized: 401, Forbidden: 403, NotFound: 404, Conflict: 409,
		PayloadTooLarge: 413, UnsupportedMediaType: 415, RateLimitExceeded: 429,
		InternalError: 500, ServiceUnavailable: 503, GatewayTimeout: 504,
	}
	seen := map[int]Code{}
	for code, status := range want {
		if got := Status(code); got != status {
			t.Errorf("Status(%s) = %d, want %d", code, got, status)
		}
		if other, ok := seen[status]; ok {
			t.Errorf("%s and %s share status %d", code, other, status)
		}
		seen[status] = code
	}
	if got := Status("NoSuchCode"); got != 500 {
		t.Errorf("an unknown code is %d, want 500", got)
	}
}
