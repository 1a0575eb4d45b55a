package cognito

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"
)

// Claims are the Cognito claims keygate reads. They are decoded by
// UnmarshalJSON below, not by encoding/json's reflection: names are matched
// exactly (encoding/json would take "SUB" or "Custom:Tier" for "sub" and
// "custom:tier"), a claim that appears twice is refused (JSON leaves the
// meaning of a duplicate to the reader; two readers disagreeing is how
// tokens get confused), and on this hot path it costs a fraction of the
// reflective decode.
type Claims struct {
	Issuer    string
	Subject   string
	Audience  []string
	ExpiresAt float64
	NotBefore float64
	IssuedAt  float64
	TokenUse  string
	ClientID  string
	Tier      string
	TeamID    string
	Email     string
}

var errClaims = errors.New("malformed claims")

// checkTimes applies the time rules at now, with Leeway on each: exp is
// required and must be after now; nbf and iat, when present, not after it.
func (c *Claims) checkTimes(now time.Time) error {
	t := float64(now.UnixNano()) / 1e9
	leeway := Leeway.Seconds()
	switch {
	case c.ExpiresAt == 0:
		return errors.New("token has no exp")
	case !(t < c.ExpiresAt+leeway):
		return errors.New("token is expired")
	case c.NotBefore != 0 && t+leeway < c.NotBefore:
		return errors.New("token is not valid yet")
	case c.IssuedAt != 0 && t+leeway < c.IssuedAt:
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
		c.ExpiresAt, err = d.numClaim(name)
	case "nbf":
		c.NotBefore, err = d.numClaim(name)
	case "iat":
		c.IssuedAt, err = d.numClaim(name)
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

// str reads a string, unescaping it only when it has escapes.
func (d *scanner) str() (string, error) {
	if !d.eat('"') {
		return "", errClaims
	}
	start, escaped := d.i, false
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case '\\':
			escaped = true
			d.i += 2
			continue
		case '"':
			raw := d.b[start:d.i]
			d.i++
			if !escaped {
				return string(raw), nil
			}
			var s string
			if err := json.Unmarshal(d.b[start-1:d.i], &s); err != nil {
				return "", errClaims
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

func (d *scanner) numClaim(name string) (float64, error) {
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
			break
		}
		d.i++
	}
	v, err := strconv.ParseFloat(string(d.b[start:d.i]), 64)
	if err != nil || start == d.i {
		return 0, fmt.Errorf("%w: claim %q is not a number", errClaims, name)
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
