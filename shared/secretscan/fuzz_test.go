package secretscan_test

import (
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/keygate/keygate/shared/apikey"
	"github.com/keygate/keygate/shared/secretscan"
)

// FuzzParseReport: no panic; a refusal is ErrMalformedReport with a message;
// an accepted body is valid UTF-8 within the limits, every item an object
// with token and type exactly once (strings, not empty) and url and source at
// most once (strings or null; other members are ignored), and it means the
// same as the matches parsed from it, which re-encode and re-parse to
// themselves.
func FuzzParseReport(f *testing.F) {
	f.Add([]byte(`[{"token":"csk_live_0123456789abcdef0123456789abcdef","type":"keygate_api_key","url":"https://github.com/o/r/blob/1/f","source":"content"}]`))
	f.Add([]byte(`[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`[{"token":"a","token":"b","type":"t","url":"","source":"s"}]`))
	f.Add([]byte(`[{"tok\u0065n":"a","type":"t","url":"","source":"s"}]`))
	f.Add([]byte(`[{"token":"a","type":"t","url":"","source":"s"}] x`))
	f.Add([]byte(`{"token":"a"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ms, err := secretscan.ParseReport(body)
		if err != nil {
			var e *secretscan.Error
			if !errors.As(err, &e) || !errors.Is(err, secretscan.ErrMalformedReport) || e.Message == "" {
				t.Fatalf("refusal %v is not a malformed-report error with a message", err)
			}
			if ms != nil {
				t.Fatal("matches returned with an error")
			}
			return
		}
		if len(body) > secretscan.MaxReportBytes || len(ms) > secretscan.MaxReportItems || !utf8.Valid(body) {
			t.Fatalf("accepted a body of %d bytes, %d items, valid UTF-8 %v", len(body), len(ms), utf8.Valid(body))
		}
		items := objectMembers(t, body)
		if len(items) != len(ms) {
			t.Fatalf("%d matches from %d items", len(ms), len(items))
		}
		for i, names := range items {
			if names["token"] != 1 || names["type"] != 1 || names["url"] > 1 || names["source"] > 1 {
				t.Fatalf("item %d accepted with members %v", i, names)
			}
		}
		var generic []map[string]any
		if err := json.Unmarshal(body, &generic); err != nil {
			t.Fatalf("accepted a body encoding/json refuses: %v", err)
		}
		for i, g := range generic {
			m := ms[i]
			absent := func(v any, got string) bool { return v == nil && got == "" || v == got }
			if g["token"] != m.Token || g["type"] != m.Type || !absent(g["url"], m.URL) || !absent(g["source"], m.Source) || m.Token == "" || m.Type == "" {
				t.Fatalf("item %d: parsed %+v, body says %v", i, m, g)
			}
		}
		again, err := json.Marshal(ms)
		if err != nil {
			t.Fatal(err)
		}
		ms2, err := secretscan.ParseReport(again)
		if err != nil || !reflect.DeepEqual(ms, ms2) {
			t.Fatalf("re-encoded report parses to %+v, %v; want %+v", ms2, err, ms)
		}
	})
}

// objectMembers counts, for each element of a top-level JSON array of
// objects, how often each member name occurs: an oracle independent of the
// parser's own bookkeeping.
func objectMembers(t *testing.T, body []byte) []map[string]int {
	t.Helper()
	var elems []json.RawMessage
	if err := json.Unmarshal(body, &elems); err != nil {
		t.Fatalf("accepted body is not a JSON array: %v", err)
	}
	out := make([]map[string]int, len(elems))
	for i, e := range elems {
		dec := json.NewDecoder(bytes.NewReader(e))
		if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
			t.Fatalf("accepted item %d is not an object: %s", i, e)
		}
		out[i] = map[string]int{}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			out[i][k.(string)]++
			var v json.RawMessage
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

// FuzzParseSignature: no panic; a refusal is ErrUnauthenticated; an accepted
// pair names the identifier it was given (1..MaxKeyIDLen visible ASCII), and
// its signature is the canonical base64 of a canonical DER SEQUENCE of two
// positive integers (so there is exactly one accepted spelling of each
// signature).
func FuzzParseSignature(f *testing.F) {
	f.Add(docKeyID, docSignature)
	f.Add("k1", "MEUCIQDrN5yI9v2nDy6n3ZzPe9hZlJ5Vq5n0B1oU0Dz4kQ4X4wIgG7j7u5m0yQwq1o4c8b2n3bK5sK9y8g2y6b6l4n5s6k8=")
	f.Add(docKeyID, strings.TrimRight(docSignature, "="))
	f.Add(docKeyID, docSignature[:20]+"\n"+docSignature[20:])
	f.Add("", "")
	f.Add("id with space", "MAYCAQECAQE=")
	f.Add("k", "MAYCAQECAQE=") // r = s = 1
	f.Add("k", "MAcCAgABAgEB") // r with a needless leading zero
	f.Fuzz(func(t *testing.T, keyID, signature string) {
		sig, err := secretscan.ParseSignature(keyID, signature)
		if err != nil {
			var e *secretscan.Error
			if !errors.As(err, &e) || !errors.Is(err, secretscan.ErrUnauthenticated) || e.Message == "" {
				t.Fatalf("refusal %v is not an unauthenticated error with a message", err)
			}
			return
		}
		if sig.KeyID != keyID || keyID == "" || len(keyID) > secretscan.MaxKeyIDLen {
			t.Fatalf("accepted key id %q as %q", keyID, sig.KeyID)
		}
		for i := 0; i < len(keyID); i++ {
			if keyID[i] <= ' ' || keyID[i] > '~' {
				t.Fatalf("accepted key id %q with byte %#x", keyID, keyID[i])
			}
		}
		if len(signature) > secretscan.MaxSignatureLen || base64.StdEncoding.EncodeToString(sig.DER) != signature {
			t.Fatalf("accepted signature %q is not the canonical base64 of its bytes", signature)
		}
		var rs struct{ R, S *big.Int }
		rest, err := asn1.Unmarshal(sig.DER, &rs)
		if err != nil || len(rest) != 0 || rs.R.Sign() <= 0 || rs.S.Sign() <= 0 {
			t.Fatalf("accepted DER %x: %v, rest %x, r %v, s %v", sig.DER, err, rest, rs.R, rs.S)
		}
		if again, _ := asn1.Marshal(rs); !bytes.Equal(again, sig.DER) {
			t.Fatalf("accepted DER %x is not canonical (%x)", sig.DER, again)
		}
	})
}

// FuzzFindKeys: the pattern GitHub is given finds, in any text, exactly the
// keys apikey.Parse accepts that stand alone (no letter or digit right
// before or after): nothing a key parser would refuse is reported, and no
// standalone key is missed.
func FuzzFindKeys(f *testing.F) {
	for _, ex := range secretscan.PatternExamples {
		f.Add(ex.Text)
	}
	f.Fuzz(func(t *testing.T, text string) {
		alnum := func(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
		var want []string
		for i := 0; i+apikey.Len <= len(text); i++ {
			s := text[i : i+apikey.Len]
			if _, err := apikey.Parse(s); err != nil {
				continue
			}
			if (i > 0 && alnum(text[i-1])) || (i+apikey.Len < len(text) && alnum(text[i+apikey.Len])) {
				continue
			}
			want = append(want, s)
		}
		if got := secretscan.FindKeys(text); !slices.Equal(got, want) {
			t.Fatalf("FindKeys(%q) = %q, want %q", text, got, want)
		}
	})
}
