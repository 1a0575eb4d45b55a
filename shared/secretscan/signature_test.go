package secretscan_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/secretscan"
	"github.com/keygate/keygate/shared/secretscan/secretscantest"
)

// docSignature is the example of GitHub's partner program page: a real DER
// signature (not over our bodies), good for decoding tests.
const (
	docKeyID     = "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c"
	docSignature = "MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg=="
)

func TestParseSignature(t *testing.T) {
	der, _ := base64.StdEncoding.DecodeString(docSignature)
	b64 := func(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
	// DER variants of the example: same r and s, other encodings.
	longLen := append([]byte{0x30, 0x81, der[1]}, der[2:]...)                      // length in long form
	trailing := append(append([]byte{}, der...), 0x00)                             // a byte after the SEQUENCE
	padded := append([]byte{0x30, der[1] + 1, 0x02, der[3] + 1, 0x00}, der[4:]...) // r with a needless leading zero
	negR := append([]byte{}, der...)
	negR[4] = 0x80 | negR[4] // r's first byte: 00 -> 80, a negative INTEGER of the same length

	tests := []struct {
		name, keyID, sig string
		ok               bool
	}{
		{"GitHub's documented example decodes", docKeyID, docSignature, true},
		{"missing identifier", "", docSignature, false},
		{"missing signature", docKeyID, "", false},
		{"identifier with a space", "bcb5 3661", docSignature, false},
		{"identifier with a non-ASCII character", "bcb53661\u00a0", docSignature, false},
		{"identifier too long", strings.Repeat("a", secretscan.MaxKeyIDLen+1), docSignature, false},
		{"signature with a newline", docKeyID, docSignature[:20] + "\n" + docSignature[20:], false},
		{"signature with a space", docKeyID, " " + docSignature, false},
		{"signature in URL-safe base64", docKeyID, strings.NewReplacer("+", "-", "/", "_").Replace(docSignature), false},
		{"signature without padding", docKeyID, strings.TrimRight(docSignature, "="), false},
		{"signature too long", docKeyID, strings.Repeat("A", secretscan.MaxSignatureLen+4), false},
		{"base64 of something that is not DER", docKeyID, b64([]byte("not a signature")), false},
		{"DER with a long-form length", docKeyID, b64(longLen), false},
		{"DER with a byte after it", docKeyID, b64(trailing), false},
		{"DER with a non-minimal INTEGER", docKeyID, b64(padded), false},
		{"DER with a negative r", docKeyID, b64(negR), false},
		{"DER of an empty SEQUENCE", docKeyID, b64([]byte{0x30, 0x00}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := secretscan.ParseSignature(tt.keyID, tt.sig)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if sig.KeyID != tt.keyID || !bytes.Equal(sig.DER, der) {
					t.Fatalf("decoded %+v", sig)
				}
				return
			}
			if !errors.Is(err, secretscan.ErrUnauthenticated) {
				t.Fatalf("err = %v, want ErrUnauthenticated", err)
			}
		})
	}
}

func TestVerify(t *testing.T) {
	ctx := context.Background()
	gh := secretscantest.New(t)
	k1 := gh.AddKey(t, "k1")
	k2 := gh.AddKey(t, "k2")
	stranger := secretscantest.NewSigner(t, "k1") // claims k1, is not
	v := &secretscan.Verifier{Keys: newSource(gh, clock.NewFixed(t0))}
	body := secretscantest.Report(secretscantest.Match{Token: "csk_live_0123456789abcdef0123456789abcdef", Type: "keygate_api_key", URL: "https://github.com/o/r/blob/1/f", Source: "content"})

	tests := []struct {
		name   string
		keyID  string
		sig    string
		body   []byte
		wantOK bool
	}{
		{"signed by the named current key", "k1", k1.Sign(body), body, true},
		{"signed by another listed key", "k2", k2.Sign(body), body, true},
		{"signature of another key than the one named", "k1", k2.Sign(body), body, false},
		{"signature by a key GitHub does not publish", "k1", stranger.Sign(body), body, false},
		{"body changed after signing", "k1", k1.Sign(body), append(append([]byte{}, body...), ' '), false},
		{"body re-encoded (spacing) after signing", "k1", k1.Sign(body), bytes.ReplaceAll(body, []byte(`","`), []byte(`", "`)), false},
		{"signature over another body", "k1", k1.Sign([]byte("[]")), body, false},
		{"unknown key identifier", "k9", k1.Sign(body), body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := v.Verify(ctx, tt.keyID, tt.sig, tt.body)
			if tt.wantOK {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, secretscan.ErrUnauthenticated) {
				t.Fatalf("err = %v, want ErrUnauthenticated", err)
			}
		})
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	gh := secretscantest.New(t)
	k1 := gh.AddKey(t, "k1")
	m := secretscantest.Match{Token: "csk_live_0123456789abcdef0123456789abcdef", Type: "keygate_api_key", URL: "https://github.com/o/r/blob/1/f", Source: "content"}

	t.Run("a signed report opens to its matches", func(t *testing.T) {
		v := &secretscan.Verifier{Keys: newSource(gh, clock.NewFixed(t0))}
		body := secretscantest.Report(m, m)
		got, err := v.Open(ctx, "k1", k1.Sign(body), body)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != m {
			t.Fatalf("got %+v", got)
		}
	})

	t.Run("an oversized body is refused before any key is fetched", func(t *testing.T) {
		fresh := secretscantest.New(t)
		fresh.AddKey(t, "k1")
		v := &secretscan.Verifier{Keys: newSource(fresh, clock.NewFixed(t0))}
		body := bytes.Repeat([]byte(" "), secretscan.MaxReportBytes+1)
		_, err := v.Open(ctx, "k1", k1.Sign(body), body)
		if !errors.Is(err, secretscan.ErrMalformedReport) {
			t.Fatalf("err = %v, want ErrMalformedReport", err)
		}
		if n := fresh.Hits.Load(); n != 0 {
			t.Fatalf("%d key fetches", n)
		}
	})

	t.Run("a signed body that is not a report is malformed", func(t *testing.T) {
		v := &secretscan.Verifier{Keys: newSource(gh, clock.NewFixed(t0))}
		body := []byte(`{"token":"x"}`)
		if _, err := v.Open(ctx, "k1", k1.Sign(body), body); !errors.Is(err, secretscan.ErrMalformedReport) {
			t.Fatalf("err = %v, want ErrMalformedReport", err)
		}
	})

	t.Run("an unsigned malformed body is unauthenticated, not parsed", func(t *testing.T) {
		v := &secretscan.Verifier{Keys: newSource(gh, clock.NewFixed(t0))}
		if _, err := v.Open(ctx, "", "", []byte(`{`)); !errors.Is(err, secretscan.ErrUnauthenticated) {
			t.Fatalf("err = %v, want ErrUnauthenticated", err)
		}
	})
}
