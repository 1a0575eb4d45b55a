package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/local/devissuer"
	"github.com/keygate/keygate/shared/metrics"
)

// TestMetricsOfAFlow captures the EMF lines the authorizer and the functions
// write during a flow that passes through every metric (successes, a 429,
// each denial reason, a function's and the authorizer's 503), checks that
// each line is an EMF document CloudWatch would extract, and that it carries
// the design's metric names with the design's dimensions and nothing a
// client sent.
func TestMetricsOfAFlow(t *testing.T) {
	var buf testenv.Buffer
	defer metrics.SetOutput(&buf)()

	probe := &testenv.Probe{}
	s := testenv.Stack(t, testenv.Options{DynamoDBOptions: []func(*dynamodb.Options){probe.Option()}})
	c := testenv.NewClient(t, s)
	tok := testenv.Token(t, s, devissuer.Token{Sub: "metrics-user", Tier: "pro"})
	key, prefix := c.CreateKey(tok, map[string]any{"name": "metrics", "dailyLimit": 1})

	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 200, "")
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 429, "RateLimitExceeded")
	testenv.Must(t, c.Do("GET", "/v1/api-keys", testenv.Bearer(tok), nil), 200, "")
	wrong := prefix + strings.Repeat("0", 24)
	unknown := "csk_live_" + strings.Repeat("0", 32)
	for _, auth := range []string{"Basic abc", testenv.Bearer("csk_live_short"), testenv.Bearer(tok + "x"),
		testenv.Bearer(wrong), testenv.Bearer(unknown)} {
		testenv.Must(t, c.Do("GET", "/v1/usage", auth, nil), 401, "Unauthorized")
	}
	probe.Fail("UpdateItem", true)
	testenv.Must(t, c.Do("PATCH", "/v1/api-keys/"+prefix, testenv.Bearer(tok), map[string]any{"name": "n"}), 503, "ServiceUnavailable")
	probe.Fail("UpdateItem", false)
	// Fresh keys reach the authorizer's store read (a used key is in its
	// positive cache, and the function's meter answers for it instead).
	fresh, _ := c.CreateKey(tok, map[string]any{"name": "fresh"})
	probe.Fail("GetItem", true)
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(fresh), nil), 503, "ServiceUnavailable")
	probe.Fail("GetItem", false)
	dead, deadPrefix := c.CreateKey(tok, map[string]any{"name": "dead"})
	testenv.Must(t, c.Do("DELETE", "/v1/api-keys/"+deadPrefix, testenv.Bearer(tok), nil), 200, "")
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(dead), nil), 401, "Unauthorized")
	testenv.Must(t, c.Do("DELETE", "/v1/api-keys/"+prefix, testenv.Bearer(tok), nil), 200, "")
	testenv.Must(t, c.Do("GET", "/v1/usage", testenv.Bearer(key), nil), 401, "Unauthorized")

	dimsOf := map[string][]string{
		"Requests": {"Outcome", "Route"}, "RateLimited": {"Route"}, "Unavailable": {"Component"},
		"Denials": {"Reason"}, "StoreLatency": {"Operation"}, "JWKSFetches": {"Result"},
	}
	unitOf := map[string]string{"StoreLatency": "Milliseconds"}
	forbidden := []string{key, key[17:], prefix, fresh, dead, deadPrefix, wrong, unknown, tok, "metrics-user", "csk_"}
	got := map[string]float64{}
	lines := 0
	for l := range strings.Lines(buf.String()) {
		lines++
		ds, err := metrics.ParseLine([]byte(l))
		if err != nil {
			t.Fatalf("line %d is not an EMF document: %v\n%s", lines, err, l)
		}
		for _, f := range forbidden {
			if strings.Contains(l, f) {
				t.Fatalf("an EMF line carries %q:\n%s", f, l)
			}
		}
		for _, d := range ds {
			var names []string
			for k := range d.Dims {
				names = append(names, k)
			}
			slices.Sort(names)
			want, ok := dimsOf[d.Name]
			if d.Namespace != "Keygate" || !ok || !slices.Equal(names, want) {
				t.Fatalf("metric %s %v in namespace %s is not the design's", d.Name, d.Dims, d.Namespace)
			}
			if u := unitOf[d.Name]; d.Unit != u && !(u == "" && d.Unit == "Count") {
				t.Fatalf("metric %s has unit %s", d.Name, d.Unit)
			}
			id := d.Name
			for _, k := range names {
				id += " " + k + "=" + d.Dims[k]
			}
			if d.Name == "StoreLatency" {
				got[id] += float64(len(d.Values))
				continue
			}
			for _, v := range d.Values {
				got[id] += v
			}
		}
	}
	want := map[string]float64{
		"Requests Outcome=OK Route=POST /v1/api-keys":                           3,
		"Requests Outcome=OK Route=GET /v1/usage":                               1,
		"Requests Outcome=RateLimitExceeded Route=GET /v1/usage":                1,
		"RateLimited Route=GET /v1/usage":                                       1,
		"Requests Outcome=OK Route=GET /v1/api-keys":                            1,
		"Requests Outcome=ServiceUnavailable Route=PATCH /v1/api-keys/{prefix}": 1,
		"Requests Outcome=OK Route=DELETE /v1/api-keys/{prefix}":                2,
		// The revoked key was in the authorizer\'s cache: the meter refused it.
		"Requests Outcome=Unauthorized Route=GET /v1/usage": 1,
		"Unavailable Component=function":                    1,
		"Unavailable Component=authorizer":                  1,
		"Denials Reason=no_credential":                      1,
		"Denials Reason=malformed":                          1,
		"Denials Reason=invalid_token":                      1,
		"Denials Reason=wrong_secret":                       1,
		"Denials Reason=unknown":                            1,
		"Denials Reason=revoked":                            1,
		"JWKSFetches Result=ok":                             1,
	}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("%s: %v, want %v", id, got[id], n)
		}
	}
	for _, op := range []string{"GetItem", "UpdateItem", "PutItem", "Query"} {
		if got["StoreLatency Operation="+op] == 0 {
			t.Errorf("no StoreLatency for %s", op)
		}
	}
	if t.Failed() {
		var ids []string
		for id, n := range got {
			ids = append(ids, fmt.Sprintf("%s: %v", id, n))
		}
		slices.Sort(ids)
		t.Logf("all metrics:\n%s\nlines:\n%s", strings.Join(ids, "\n"), buf.String())
	}
}
