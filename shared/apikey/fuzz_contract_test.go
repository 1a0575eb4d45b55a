package apikey_test

import (
	"regexp"
	"testing"

	"github.com/keygate/keygate/shared/apikey"
)

// The contract's shapes, as regular expressions: an oracle written apart from
// the hand-rolled checks in apikey.go.
var (
	keyShape    = regexp.MustCompile(`^csk_live_[0-9a-f]{32}$`)
	prefixShape = regexp.MustCompile(`^csk_live_[0-9a-f]{8}$`)
)

// FuzzParseContract: Parse accepts exactly the strings matching
// ^csk_live_[0-9a-f]{32}$ (FuzzParse checks one direction; this checks both,
// so a well-formed key is never refused either), and an accepted key's prefix
// is its first 17 characters and a valid prefix.
func FuzzParseContract(f *testing.F) {
	f.Add(valid)
	f.Add("csk_live_A1B2C3D4E5F67890ABCDEF1234567890")
	f.Add(valid + "\n")
	f.Add(" " + valid)
	f.Add("csk_live_a1b2c3d4e5f67890abcdef123456789")
	f.Fuzz(func(t *testing.T, s string) {
		k, err := apikey.Parse(s)
		if want := keyShape.MatchString(s); (err == nil) != want {
			t.Fatalf("Parse(%q): err %v, contract says accept=%v", s, err, want)
		}
		if err != nil {
			return
		}
		if k.String() != s || k.Prefix() != s[:17] || !prefixShape.MatchString(k.Prefix()) || !apikey.ValidPrefix(k.Prefix()) {
			t.Fatalf("Parse(%q) = %q, prefix %q", s, k.String(), k.Prefix())
		}
	})
}

// FuzzValidPrefix: the path parameter {prefix} is taken exactly when it
// matches ^csk_live_[0-9a-f]{8}$; anything else answers 404 without a store
// read (see FuzzPathPrefix in functions/handlers for the routes).
func FuzzValidPrefix(f *testing.F) {
	f.Add("csk_live_a1b2c3d4")
	f.Add("csk_live_A1B2C3D4")
	f.Add("csk_live_a1b2c3d4\n")
	f.Add("csk_live_a1b2c3d")
	f.Add("csk_live_a1b2c3d4e")
	f.Add("../csk_live_a1b2")
	f.Fuzz(func(t *testing.T, p string) {
		if got, want := apikey.ValidPrefix(p), prefixShape.MatchString(p); got != want {
			t.Fatalf("ValidPrefix(%q) = %v, contract says %v", p, got, want)
		}
	})
}
