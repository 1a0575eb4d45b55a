package apikey_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"strings"
	"testing"

	"github.com/keygate/keygate/shared/apikey"
)

// valid is a well-formed key used throughout.
const valid = "csk_live_a1b2c3d4e5f67890abcdef1234567890"

func TestGenerate(t *testing.T) {
	t.Run("key is csk_live_ and the reader's 16 bytes as lowercase hex", func(t *testing.T) {
		r := bytes.NewReader([]byte{
			0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x78, 0x90,
			0xab, 0xcd, 0xef, 0x12, 0x34, 0x56, 0x78, 0x90,
		})
		k, err := apikey.Generate(r)
		if err != nil {
			t.Fatal(err)
		}
		if got := k.String(); got != valid {
			t.Fatalf("Generate = %q, want %q", got, valid)
		}
		if r.Len() != 0 {
			t.Fatalf("Generate left %d bytes unread, want it to read exactly 16", r.Len())
		}
	})
	t.Run("generated key parses", func(t *testing.T) {
		k, err := apikey.New()
		if err != nil {
			t.Fatal(err)
		}
		if len(k.String()) != apikey.Len {
			t.Fatalf("len = %d, want %d", len(k.String()), apikey.Len)
		}
		p, err := apikey.Parse(k.String())
		if err != nil {
			t.Fatalf("Parse(New()) = %v", err)
		}
		if p != k {
			t.Fatalf("Parse(New()) = %q, want %q", p, k)
		}
	})
	t.Run("two keys from crypto/rand differ", func(t *testing.T) {
		a, _ := apikey.New()
		b, _ := apikey.New()
		if a == b {
			t.Fatalf("two generated keys are equal: %q", a)
		}
	})
	t.Run("short reader is an error", func(t *testing.T) {
		if _, err := apikey.Generate(bytes.NewReader(make([]byte, 15))); err == nil {
			t.Fatal("Generate with 15 random bytes succeeded")
		}
	})
}

func TestParse(t *testing.T) {
	hex32 := strings.Repeat("0123456789abcdef", 2)
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{"well-formed key is accepted", valid, true},
		{"all digits is accepted", "csk_live_" + strings.Repeat("7", 32), true},
		{"all letters a-f is accepted", "csk_live_" + strings.Repeat("f", 32), true},
		{"31 hex characters are refused", "csk_live_" + hex32[:31], false},
		{"33 hex characters are refused", "csk_live_" + hex32 + "a", false},
		{"empty string is refused", "", false},
		{"prefix alone is refused", "csk_live_a1b2c3d4", false},
		{"uppercase hex is refused", "csk_live_A1B2C3D4E5F67890ABCDEF1234567890", false},
		{"one uppercase letter is refused", "csk_live_a1b2c3d4e5f67890abcdef123456789A", false},
		{"non-hex letter is refused", "csk_live_g1b2c3d4e5f67890abcdef1234567890", false},
		{"punctuation is refused", "csk_live_a1b2c3d4-5f67890abcdef1234567890", false},
		{"test-mode key is refused", "csk_test_" + hex32, false},
		{"uppercase scheme is refused", "CSK_LIVE_" + hex32, false},
		{"missing prefix is refused", hex32, false},
		{"missing prefix padded to length is refused", "xxxxxxxxx" + hex32, false},
		{"trailing newline is refused", valid + "\n", false},
		{"newline in place of the last character is refused", valid[:apikey.Len-1] + "\n", false},
		{"leading space is refused", " " + valid, false},
		{"trailing NUL is refused", valid + "\x00", false},
		// "é" is two bytes, so this string has exactly Len bytes.
		{"unicode of the right byte length is refused", "csk_live_é" + hex32[:30], false},
		{"fullwidth digits are refused", "csk_live_" + hex32[:29] + "１", false},
		{"bearer scheme included is refused", "Bearer " + valid, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := apikey.Parse(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("Parse(%q) = %v, want ok", tt.in, err)
				}
				if k.String() != tt.in {
					t.Fatalf("Parse(%q).String() = %q", tt.in, k.String())
				}
				return
			}
			if !errors.Is(err, apikey.ErrMalformed) {
				t.Fatalf("Parse(%q) error = %v, want ErrMalformed", tt.in, err)
			}
			if k != (apikey.Key{}) {
				t.Fatalf("Parse(%q) returned a key alongside its error", tt.in)
			}
		})
	}
}

func TestPrefix(t *testing.T) {
	k, err := apikey.Parse(valid)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("prefix is the first 17 characters", func(t *testing.T) {
		if got := k.Prefix(); got != "csk_live_a1b2c3d4" {
			t.Fatalf("Prefix = %q, want csk_live_a1b2c3d4", got)
		}
		if apikey.PrefixLen != 17 {
			t.Fatalf("PrefixLen = %d, want 17", apikey.PrefixLen)
		}
	})
	t.Run("prefix of a key is a valid prefix", func(t *testing.T) {
		if !apikey.ValidPrefix(k.Prefix()) {
			t.Fatalf("ValidPrefix(%q) = false", k.Prefix())
		}
	})
}

func TestMatches(t *testing.T) {
	k, _ := apikey.Parse(valid)
	other, _ := apikey.Parse("csk_live_a1b2c3d4e5f67890abcdef1234567891")
	tests := []struct {
		name string
		hash apikey.Hash
		want bool
	}{
		{"own hash matches", k.Hash(), true},
		{"hash is SHA-256 of the whole key", sha256.Sum256([]byte(valid)), true},
		{"hash of a key with the same prefix does not match", other.Hash(), false},
		{"hash of the prefix alone does not match", sha256.Sum256([]byte(k.Prefix())), false},
		{"zero hash does not match", apikey.Hash{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := k.Matches(tt.hash); got != tt.want {
				t.Fatalf("Matches = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestValidPrefix(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want bool
	}{
		{"csk_live_ and 8 lowercase hex is valid", "csk_live_a1b2c3d4", true},
		{"7 hex is invalid", "csk_live_a1b2c3d", false},
		{"9 hex is invalid", "csk_live_a1b2c3d4e", false},
		{"whole key is invalid", valid, false},
		{"uppercase hex is invalid", "csk_live_A1B2C3D4", false},
		{"non-hex is invalid", "csk_live_a1b2c3dz", false},
		{"test-mode prefix is invalid", "csk_test_a1b2c3d4", false},
		{"empty is invalid", "", false},
		{"path traversal is invalid", "csk_live_../../..", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apikey.ValidPrefix(tt.in); got != tt.want {
				t.Fatalf("ValidPrefix(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

// FuzzParse checks that Parse never panics, that whatever it accepts is a
// well-formed key that round-trips, and that everything else is ErrMalformed.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		valid,
		"",
		"csk_",
		"csk_live_",
		"csk_live_a1b2c3d4",
		"csk_test_a1b2c3d4e5f67890abcdef1234567890",
		"csk_live_A1B2C3D4E5F67890ABCDEF1234567890",
		valid + "\n",
		"csk_live_é" + strings.Repeat("a", 30),
		"eyJhbGciOiJSUzI1NiJ9.e30.sig",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := apikey.Parse(s)
		if err != nil {
			if !errors.Is(err, apikey.ErrMalformed) {
				t.Fatalf("Parse(%q) error %v is not ErrMalformed", s, err)
			}
			return
		}
		if k.String() != s {
			t.Fatalf("Parse(%q).String() = %q", s, k.String())
		}
		if len(s) != apikey.Len || !strings.HasPrefix(s, apikey.Live) {
			t.Fatalf("Parse accepted %q of the wrong shape", s)
		}
		for _, c := range s[len(apikey.Live):] {
			if !strings.ContainsRune("0123456789abcdef", c) {
				t.Fatalf("Parse accepted %q with non-lowercase-hex %q", s, c)
			}
		}
		again, err := apikey.Parse(k.String())
		if err != nil || again != k {
			t.Fatalf("accepted key %q does not round-trip: %v", s, err)
		}
		if !apikey.ValidPrefix(k.Prefix()) {
			t.Fatalf("accepted key %q has invalid prefix %q", s, k.Prefix())
		}
		if !k.Matches(k.Hash()) {
			t.Fatalf("accepted key %q does not match its own hash", s)
		}
	})
}
