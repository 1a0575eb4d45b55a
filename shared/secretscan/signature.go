package secretscan

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
)

// Header limits. GitHub's key identifiers are 64 hex characters and a DER
// ECDSA P-256 signature is at most 72 bytes (96 in base64); anything much
// longer is not GitHub's and is refused before any work.
const (
	MaxKeyIDLen     = 128
	MaxSignatureLen = 128
)

// Signature is a decoded pair of signature headers.
type Signature struct {
	KeyID string // which of GitHub's published keys signed
	DER   []byte // the ASN.1 DER ECDSA signature, canonical
}

// ecdsaSignature is the ASN.1 form of an ECDSA signature: SEQUENCE { r, s }.
type ecdsaSignature struct {
	R, S *big.Int
}

// ParseSignature decodes the Github-Public-Key-Identifier and
// Github-Public-Key-Signature header values. The identifier must be 1 to
// MaxKeyIDLen visible ASCII characters; the signature must be standard,
// padded base64 with nothing else in it (no whitespace) of a DER SEQUENCE of
// two positive INTEGERs, in canonical DER (no other BER form, nothing after
// it). Errors are ErrUnauthenticated.
func ParseSignature(keyID, signature string) (Signature, error) {
	if keyID == "" {
		return Signature{}, unauthenticated(nil, "The %s header is missing.", HeaderKeyID)
	}
	if signature == "" {
		return Signature{}, unauthenticated(nil, "The %s header is missing.", HeaderSignature)
	}
	if len(keyID) > MaxKeyIDLen || !visibleASCII(keyID) {
		return Signature{}, unauthenticated(nil, "The %s header is not a key identifier.", HeaderKeyID)
	}
	if len(signature) > MaxSignatureLen || !base64Alphabet(signature) {
		return Signature{}, unauthenticated(nil, "The %s header is not base64.", HeaderSignature)
	}
	der, err := base64.StdEncoding.Strict().DecodeString(signature)
	if err != nil {
		return Signature{}, unauthenticated(err, "The %s header is not base64.", HeaderSignature)
	}
	var sig ecdsaSignature
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 {
		return Signature{}, unauthenticated(err, "The %s header is not a DER ECDSA signature.", HeaderSignature)
	}
	if sig.R.Sign() <= 0 || sig.S.Sign() <= 0 {
		return Signature{}, unauthenticated(nil, "The %s header is not a DER ECDSA signature.", HeaderSignature)
	}
	// encoding/asn1 accepts a few non-canonical encodings; a signature is
	// taken only in the one form that re-encodes to itself.
	if again, err := asn1.Marshal(sig); err != nil || !bytes.Equal(again, der) {
		return Signature{}, unauthenticated(err, "The %s header is not a canonical DER ECDSA signature.", HeaderSignature)
	}
	return Signature{KeyID: keyID, DER: der}, nil
}

func visibleASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// base64Alphabet reports whether s uses only the standard base64 alphabet
// and '=': the decoder would otherwise skip CR and LF.
func base64Alphabet(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/' || c == '=') {
			return false
		}
	}
	return true
}

// KeyLookup finds one of GitHub's public keys by identifier (KeySource does).
type KeyLookup interface {
	Key(ctx context.Context, keyID string) (*ecdsa.PublicKey, error)
}

// Verifier checks GitHub's reports.
type Verifier struct {
	Keys KeyLookup
}

// Verify checks that signature (the Github-Public-Key-Signature value) is the
// signature of the key named keyID (Github-Public-Key-Identifier) over body,
// the raw request body exactly as received. Errors are ErrUnauthenticated, or
// ErrKeysUnavailable when the key list cannot be fetched for an identifier not
// seen before.
func (v *Verifier) Verify(ctx context.Context, keyID, signature string, body []byte) error {
	sig, err := ParseSignature(keyID, signature)
	if err != nil {
		return err
	}
	return v.verify(ctx, sig, body)
}

func (v *Verifier) verify(ctx context.Context, sig Signature, body []byte) error {
	pub, err := v.Keys.Key(ctx, sig.KeyID)
	if err != nil {
		return err
	}
	digest := sha256.Sum256(body)
	if !ecdsa.VerifyASN1(pub, digest[:], sig.DER) {
		return unauthenticated(nil, "The signature does not match the request body.")
	}
	return nil
}

// Open is the whole of receiving a report: it decodes the signature headers,
// refuses a body over MaxReportBytes before fetching a key or hashing, verifies
// the signature over the raw body, then parses it. Errors are
// ErrUnauthenticated (401), ErrMalformedReport (400) or ErrKeysUnavailable
// (503).
func (v *Verifier) Open(ctx context.Context, keyID, signature string, body []byte) ([]Match, error) {
	sig, err := ParseSignature(keyID, signature)
	if err != nil {
		return nil, err
	}
	if len(body) > MaxReportBytes {
		return nil, malformed("The report is %d bytes; the limit is %d bytes (1 MiB).", len(body), MaxReportBytes)
	}
	if err := v.verify(ctx, sig, body); err != nil {
		return nil, err
	}
	return ParseReport(body)
}
