package cognito

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// keygate reads a token's compact serialization itself rather than through
// golang-jwt's generic parser, which decodes every header into a map and
// scans the claims three times: on the path of a token seen for the first
// time that was a sixth of the cost, next to the one RSA verification that
// should dominate it. The reading is strict: three base64url segments
// without padding or stray bits, a header whose alg is exactly RS256 and
// whose kid names a key, no crit, no member twice, and claims that are one
// JSON object read by Claims.UnmarshalJSON. The signature is still checked by
// golang-jwt's RS256, against the key of the pool's cached JWKS.

var b64 = base64.RawURLEncoding.Strict()

// maxToken bounds what is decoded at all; Cognito tokens are 1-2 KB.
const maxToken = 16 << 10

// compact is a token split and decoded, not yet verified.
type compact struct {
	signingInput string // header.payload, what the signature covers
	kid          string
	sig          []byte
}

var errCompact = errors.New("malformed token")

// parseCompact splits and decodes token, filling c from its claims.
func parseCompact(token string, c *Claims) (compact, error) {
	if len(token) > maxToken {
		return compact{}, fmt.Errorf("%w: longer than %d bytes", errCompact, maxToken)
	}
	// Go's base64 decoders skip CR and LF even when strict: refuse them
	// here, or a token would have a second spelling.
	if strings.ContainsAny(token, "\r\n") {
		return compact{}, fmt.Errorf("%w: line break", errCompact)
	}
	i := strings.IndexByte(token, '.')
	if i < 0 {
		return compact{}, fmt.Errorf("%w: not three segments", errCompact)
	}
	j := strings.IndexByte(token[i+1:], '.')
	if j < 0 {
		return compact{}, fmt.Errorf("%w: not three segments", errCompact)
	}
	j += i + 1
	if strings.IndexByte(token[j+1:], '.') >= 0 {
		return compact{}, fmt.Errorf("%w: not three segments", errCompact)
	}
	var hbuf [512]byte
	header, err := decodeInto(hbuf[:], token[:i])
	if err != nil {
		return compact{}, fmt.Errorf("%w: header: %w", errCompact, err)
	}
	kid, err := readHeader(header)
	if err != nil {
		return compact{}, err
	}
	payload, err := b64.DecodeString(token[i+1 : j])
	if err != nil {
		return compact{}, fmt.Errorf("%w: claims: %w", errCompact, err)
	}
	if !json.Valid(payload) {
		return compact{}, fmt.Errorf("%w: claims are not JSON", errCompact)
	}
	if err := c.UnmarshalJSON(payload); err != nil {
		return compact{}, err
	}
	sig, err := b64.DecodeString(token[j+1:])
	if err != nil || len(sig) == 0 {
		return compact{}, fmt.Errorf("%w: signature is not base64url", errCompact)
	}
	return compact{signingInput: token[:j], kid: kid, sig: sig}, nil
}

func decodeInto(buf []byte, s string) ([]byte, error) {
	if b64.DecodedLen(len(s)) > len(buf) {
		return b64.DecodeString(s)
	}
	n, err := b64.Decode(buf, []byte(s))
	return buf[:n], err
}

// errCritical refuses a header with crit: no extension is understood, so
// none may be critical.
var errCritical = errors.New("header names critical extensions")

// readHeader checks the protected header and returns its kid.
func readHeader(b []byte) (string, error) {
	if !json.Valid(b) {
		return "", fmt.Errorf("%w: header is not JSON", errCompact)
	}
	var alg, kid string
	d := scanner{b: b}
	err := d.object(func(name string) error {
		var err error
		switch name {
		case "alg":
			alg, err = d.strClaim(name)
		case "kid":
			kid, err = d.strClaim(name)
		case "crit":
			err = errCritical
		default:
			err = d.skip()
		}
		return err
	})
	if dup, ok := err.(duplicate); ok {
		return "", fmt.Errorf("%w: header member %q appears twice", errCompact, string(dup))
	}
	if err == errNotObject {
		return "", fmt.Errorf("%w: header is not an object", errCompact)
	}
	if err != nil {
		return "", fmt.Errorf("%w: %w", errCompact, err)
	}
	if alg != "RS256" {
		return "", fmt.Errorf("%w: alg %q is not RS256", errCompact, alg)
	}
	if kid == "" {
		return "", fmt.Errorf("%w: header names no kid", errCompact)
	}
	return kid, nil
}
