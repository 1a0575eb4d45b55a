package cognito

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/keygate/keygate/shared/jsontext"
)

// Claims are the Cognito claims keygate reads. They are decoded by
// UnmarshalJSON below, not by encoding/json's reflection: names are matched
// exactly (encoding/json would take "SUB" or "Custom:Tier" for "sub" and
// "custom:tier"), a claim that appears twice is refused (JSON leaves the
// meaning of a duplicate to the reader; two readers disagreeing is how
// tokens get confused), and on this hot path it costs a fraction of the
// reflective decode.
type Claims struct {
	Issuer   string
	Subject  string
	Audience []string
	// ExpiresAt, NotBefore and IssuedAt are Unix seconds; 0 is absent. A
	// time claim that is not a plain integer within MaxUnixSeconds is
	// refused as it is read, so no arithmetic on it can overflow.
	ExpiresAt int64
	NotBefore int64
	IssuedAt  int64
	TokenUse  string
	ClientID  string
	Tier      string
	TeamID    string
	Email     string
}

// MaxUnixSeconds is the last second of year 9999 (9999-12-31T23:59:59Z), the
// latest time claim accepted.
const MaxUnixSeconds = 253402300799

var errClaims = errors.New("malformed claims")

// checkTimes applies the time rules at now, with Leeway on each: exp is
// required and must be after now; nbf and iat, when present, not after it.
// The claims are already within years 1970-9999, so time.Unix cannot
// overflow.
func (c *Claims) checkTimes(now time.Time) error {
	switch {
	case c.ExpiresAt == 0:
		return errors.New("token has no exp")
	case !now.Before(time.Unix(c.ExpiresAt, 0).Add(Leeway)):
		return errors.New("token is expired")
	case c.NotBefore != 0 && now.Add(Leeway).Before(time.Unix(c.NotBefore, 0)):
		return errors.New("token is not valid yet")
	case c.IssuedAt != 0 && now.Add(Leeway).Before(time.Unix(c.IssuedAt, 0)):
		return errors.New("token used before issued")
	}
	return nil
}

// UnmarshalJSON reads the claims object. Its input has already been checked
// to be one well-formed JSON value by the decoder that calls it.
func (c *Claims) UnmarshalJSON(b []byte) error {
	*c = Claims{}
	d := scanner{b: b}
	err := d.object(func(name string) error { return c.member(&d, name) })
	if dup, ok := err.(duplicate); ok {
		return fmt.Errorf("%w: claim %q appears twice", errClaims, string(dup))
	}
	if err == errNotObject {
		return fmt.Errorf("%w: not an object", errClaims)
	}
	return err
}

func (c *Claims) member(d *scanner, name string) error {
	var err error
	switch name {
	case "iss":
		c.Issuer, err = d.strClaim(name)
	case "sub":
		c.Subject, err = d.strClaim(name)
	case "token_use":
		c.TokenUse, err = d.strClaim(name)
	case "client_id":
		c.ClientID, err = d.strClaim(name)
	case "custom:tier":
		c.Tier, err = d.strClaim(name)
	case "custom:teamId":
		c.TeamID, err = d.strClaim(name)
	case "email":
		c.Email, err = d.strClaim(name)
	case "exp":
		c.ExpiresAt, err = d.timeClaim(name)
	case "nbf":
		c.NotBefore, err = d.timeClaim(name)
	case "iat":
		c.IssuedAt, err = d.timeClaim(name)
	case "aud":
		if d.peek() == '[' {
			d.eat('[')
			d.space()
			if d.eat(']') {
				return nil
			}
			for {
				d.space()
				a, err := d.strClaim(name)
				if err != nil {
					return err
				}
				c.Audience = append(c.Audience, a)
				d.space()
				if d.eat(']') {
					return nil
				}
				if !d.eat(',') {
					return errClaims
				}
			}
		}
		var a string
		a, err = d.strClaim(name)
		c.Audience = []string{a}
	default:
		err = d.skip()
	}
	return err
}

// scanner walks a well-formed JSON text.
type scanner struct {
	b []byte
	i int
}

// errNotObject is object's error for a value that is not an object.
var errNotObject = errors.New("not an object")

// duplicate is object's error for a member name that appears twice (see
// Claims for why that is refused).
type duplicate string

func (n duplicate) Error() string { return strconv.Quote(string(n)) + " appears twice" }

// object walks one object, calling member with each name and the scanner at
// that member's value, which member must consume. A name seen before is the
// error duplicate, before member is called; a value that is not an object is
// errNotObject; member's errors are returned as they are.
func (d *scanner) object(member func(name string) error) error {
	d.space()
	if !d.eat('{') {
		return errNotObject
	}
	d.space()
	if d.eat('}') {
		return nil
	}
	// The names seen so far: the first 24 (enough for a Cognito token's
	// claims) on the stack, any more on the heap.
	var seen [24]string
	nseen := 0
	var more []string
	for {
		d.space()
		name, err := d.str()
		if err != nil {
			return err
		}
		if slices.Contains(seen[:nseen], name) || slices.Contains(more, name) {
			return duplicate(name)
		}
		if nseen < len(seen) {
			seen[nseen] = name
			nseen++
		} else {
			more = append(more, name)
		}
		d.space()
		if !d.eat(':') {
			return errClaims
		}
		d.space()
		if err := member(name); err != nil {
			return err
		}
		d.space()
		if d.eat('}') {
			return nil
		}
		if !d.eat(',') {
			return errClaims
		}
	}
}

func (d *scanner) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *scanner) peek() byte {
	if d.i < len(d.b) {
		return d.b[d.i]
	}
	return 0
}

func (d *scanner) eat(c byte) bool {
	if d.peek() == c {
		d.i++
		return true
	}
	return false
}

// str reads a string, which must be valid UTF-8 without an unpaired
// surrogate escape (jsontext): decoded leniently, "a\xffb" and "a\ud800b"
// would both read as "a\uFFFDb", and two different subs would be one user.
func (d *scanner) str() (string, error) {
	if !d.eat('"') {
		return "", errClaims
	}
	start := d.i
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case '\\':
			d.i += 2
			continue
		case '"':
			raw := d.b[start:d.i]
			d.i++
			s, err := jsontext.Unquote(raw)
			if err != nil {
				return "", fmt.Errorf("%w: %w", errClaims, err)
			}
			return s, nil
		}
		d.i++
	}
	return "", errClaims
}

func (d *scanner) strClaim(name string) (string, error) {
	if d.peek() != '"' {
		return "", fmt.Errorf("%w: claim %q is not a string", errClaims, name)
	}
	return d.str()
}

// timeClaim reads a NumericDate as keygate accepts it: a plain integer (no
// sign, fraction or exponent) of Unix seconds from 0 to MaxUnixSeconds.
func (d *scanner) timeClaim(name string) (int64, error) {
	start := d.i
	var v int64
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		v = v*10 + int64(d.b[d.i]-'0')
		d.i++
		if v > MaxUnixSeconds {
			return 0, fmt.Errorf("%w: claim %q is past year 9999", errClaims, name)
		}
	}
	if d.i == start {
		return 0, fmt.Errorf("%w: claim %q is not a whole number of seconds from 1970", errClaims, name)
	}
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case '.', 'e', 'E':
			return 0, fmt.Errorf("%w: claim %q is not a plain integer", errClaims, name)
		}
	}
	return v, nil
}

// skip passes over one value of any kind.
func (d *scanner) skip() error {
	switch d.peek() {
	case '"':
		_, err := d.str()
		return err
	case '{', '[':
		depth := 0
		for d.i < len(d.b) {
			switch d.b[d.i] {
			case '"':
				if _, err := d.str(); err != nil {
					return err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					d.i++
					return nil
				}
			}
			d.i++
		}
		return errClaims
	default:
		for d.i < len(d.b) {
			switch d.b[d.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return nil
			}
			d.i++
		}
		return nil
	}
}
