package lambdahttp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// strictPending turns on the invariants that hold only once the lead's strict
// JSON decoding lands (issue 10: a duplicated member name is 400).
// KEYGATE_FUZZ_PENDING=1 runs them; delete the switch then.
var strictPending = os.Getenv("KEYGATE_FUZZ_PENDING") == "1"

// FuzzDecodeJSON decodes arbitrary bodies into the create-key request.
// Invariants: no panic; every refusal is a BadRequest apierr with a message;
// an accepted body is one JSON object whose member names are all exactly
// fields of the request, and it re-encodes to the same fields: each member's
// value is the decoded field's, and a field the body does not name stays
// empty. Pending (strictPending): an accepted body names no member twice.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"CI Pipeline","dailyLimit":1000}`,
		`{"name":"a","name":"b"}`,
		`{"NAME":"a"}`,
		`{"name":"a","extra":1}`,
		`{"dailyLimit":1.0}`,
		`{"dailyLimit":-0}`,
		`{"dailyLimit":1e2}`,
		`{"name":null}`,
		`{"name":"a"} {}`,
		`{"name":"\ud800"}`,
		`[]`,
		`null`,
		``,
		` `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in keys.CreateInput
		err := lambdahttp.DecodeJSON(body, &in)
		if err != nil {
			var e *apierr.Error
			if !errors.As(err, &e) || e.Code != apierr.BadRequest || e.Message == "" {
				t.Fatalf("DecodeJSON(%q) error %v is not a BadRequest with a message", body, err)
			}
			return
		}
		var members map[string]any
		if err := json.Unmarshal(body, &members); err != nil || members == nil {
			t.Fatalf("DecodeJSON accepted %q, which is not one JSON object (%v)", body, err)
		}
		again, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		var fields map[string]any
		if err := json.Unmarshal(again, &fields); err != nil {
			t.Fatal(err)
		}
		for name, v := range members {
			got, ok := fields[name]
			if !ok {
				t.Fatalf("DecodeJSON accepted %q with member %q, which is not a field", body, name)
			}
			if !reflect.DeepEqual(got, v) {
				t.Fatalf("DecodeJSON(%q): member %q is %v, decoded as %v", body, name, v, got)
			}
		}
		for name, v := range fields {
			if _, named := members[name]; !named && v != nil && !reflect.ValueOf(v).IsZero() {
				t.Fatalf("DecodeJSON(%q) set %q = %v, which the body does not name", body, name, v)
			}
		}
		if !strictPending {
			return
		}
		if name, dup := duplicateMember(body); dup {
			t.Fatalf("DecodeJSON accepted %q with member %q twice", body, name)
		}
	})
}

// duplicateMember reports a member name that occurs twice in the top-level
// JSON object b.
func duplicateMember(b []byte) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	seen := map[string]bool{}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return "", false
		}
		name, _ := k.(string)
		if seen[name] {
			return name, true
		}
		seen[name] = true
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return "", false
		}
	}
	return "", false
}
