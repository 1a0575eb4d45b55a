package lambdahttp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// createBody has the shape of POST /v1/api-keys' body (functions/handlers).
type createBody struct {
	Name       *string                     `json:"name"`
	DailyLimit *int                        `json:"dailyLimit"`
	ExpiresAt  lambdahttp.Nullable[string] `json:"expiresAt"`
}

// encode is b as the JSON members it stands for: a nil pointer is null, an
// unset Nullable is absent.
func (b createBody) encode() map[string]any {
	m := map[string]any{"name": nil, "dailyLimit": nil}
	if b.Name != nil {
		m["name"] = *b.Name
	}
	if b.DailyLimit != nil {
		m["dailyLimit"] = float64(*b.DailyLimit)
	}
	if b.ExpiresAt.Set {
		m["expiresAt"] = nil
		if !b.ExpiresAt.Null {
			m["expiresAt"] = b.ExpiresAt.Value
		}
	}
	return m
}

// FuzzDecodeJSON decodes arbitrary bodies into the create-key request.
// Invariants: no panic; every refusal is a BadRequest apierr with a message;
// an accepted body is one JSON object that names no member twice, whose
// member names are all exactly fields of the request, and it re-encodes to
// the same fields: each member's value is the decoded field's, and a field
// the body does not name stays empty.
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
		`{"expiresAt":null}`,
		`{"expiresAt":"2027-02-14T10:00:00Z","name":"x"}`,
		`{"expiresAt":1}`,
		`[]`,
		`null`,
		``,
		` `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var in createBody
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
		if name, dup := duplicateMember(body); dup {
			t.Fatalf("DecodeJSON accepted %q with member %q twice", body, name)
		}
		fields := in.encode()
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
			if _, named := members[name]; !named && v != nil {
				t.Fatalf("DecodeJSON(%q) set %q = %v, which the body does not name", body, name, v)
			}
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
