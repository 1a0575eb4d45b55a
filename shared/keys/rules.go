package keys

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/principal"
)

// MaxNameLen is the longest key name, in characters, after trimming.
const MaxNameLen = 100

// MaxGrace is the longest rotation grace period; DefaultGrace applies when
// none is given.
const (
	MaxGrace     = 24 * time.Hour
	DefaultGrace = time.Hour
)

// Fields are a surface's spellings of the request fields, so a rule's message
// names the field the caller actually sent: /v1 is camelCase, the workspace
// API snake_case.
type Fields struct {
	Name, DailyLimit, ExpiresAt, Grace, Scopes, AllowedIPs string
}

// The two surfaces' spellings.
var (
	CamelCase = Fields{Name: "name", DailyLimit: "dailyLimit", ExpiresAt: "expiresAt", Grace: "gracePeriodSeconds", Scopes: "scopes", AllowedIPs: "allowedIps"}
	SnakeCase = Fields{Name: "name", DailyLimit: "daily_limit", ExpiresAt: "expires_at", Grace: "grace_period_seconds", Scopes: "scopes", AllowedIPs: "allowed_ips"}
)

func (f Fields) or() Fields {
	if f.Name == "" {
		return CamelCase
	}
	return f
}

// invisible are characters that are neither controls nor formatting (Cc, Cf)
// yet show nothing: fillers and blank patterns that make a name look empty.
var invisible = map[rune]bool{
	'\u115F': true, '\u1160': true, '\u3164': true, '\uFFA0': true, // Hangul fillers
	'\u2800': true, // Braille pattern blank
	'\u180E': true, // Mongolian vowel separator
}

// ValidateName trims and checks a key name: 1..MaxNameLen characters, no
// control, formatting or separator characters, at least one visible one.
func ValidateName(name string, f Fields) (string, error) {
	field := f.or().Name
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	switch {
	case !utf8.ValidString(name):
		return "", apierr.New(apierr.BadRequest, "Field '%s' must be valid UTF-8 text.", field)
	case n == 0:
		return "", apierr.New(apierr.BadRequest, "Field '%s' must not be empty.", field)
	case n > MaxNameLen:
		return "", apierr.New(apierr.BadRequest, "Field '%s' must be at most %d characters (got %d).", field, MaxNameLen, n)
	}
	visible := false
	for _, r := range name {
		// Cf holds the invisible formatting characters (bidi overrides,
		// zero-width spaces) that make one name look like another; Zl and Zp
		// are line and paragraph separators.
		if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			return "", apierr.New(apierr.BadRequest, "Field '%s' must not contain control, separator or invisible formatting characters.", field)
		}
		if !visible && unicode.IsGraphic(r) && !unicode.IsSpace(r) && !invisible[r] {
			visible = true
		}
	}
	if !visible {
		return "", apierr.New(apierr.BadRequest, "Field '%s' must contain at least one visible character.", field)
	}
	return name, nil
}

// cap is the highest daily limit a tier may set; 0 for free.
func (s *Service) cap(t principal.Tier) int { return s.Limits.TierCaps[t] }

// checkLimit checks a limit for a new key: below 1 is a bad request; above
// the tier's cap is forbidden (the contract's "limit cap reached").
func (s *Service) checkLimit(t principal.Tier, n int, f Fields) error {
	field := f.or().DailyLimit
	limit := s.cap(t)
	if n < 1 {
		return apierr.New(apierr.BadRequest, "Field '%s' must be an integer from 1 to %d for the %s tier (got %d).", field, max(limit, 1), t, n)
	}
	if n > limit {
		return apierr.New(apierr.Forbidden, "Field '%s' may be at most %d on the %s tier (got %d); a higher tier raises the cap.", field, limit, t, n)
	}
	return nil
}

// parseExpiry checks an expiresAt value: RFC 3339, in the future, at most the
// deployment's maximum lifetime ahead. Whole seconds, UTC.
func (s *Service) parseExpiry(v string, now time.Time, f Fields) (time.Time, error) {
	field := f.or().ExpiresAt
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, apierr.New(apierr.BadRequest, "Field '%s' must be an RFC 3339 time such as 2027-02-14T10:00:00Z.", field)
	}
	t = t.UTC().Truncate(time.Second)
	if !t.After(now) {
		return time.Time{}, apierr.New(apierr.BadRequest, "Field '%s' must be in the future (got %s).", field, t.Format(time.RFC3339))
	}
	lifetime := s.Limits.MaxKeyLifetime
	if lifetime > 0 && t.After(now.Add(lifetime)) {
		return time.Time{}, apierr.New(apierr.BadRequest, "Field '%s' may be at most %d days ahead (latest %s).",
			field, int(lifetime/(24*time.Hour)), now.Add(lifetime).Truncate(time.Second).Format(time.RFC3339))
	}
	return t, nil
}

// parseGrace checks a rotation grace period in seconds. The range is checked
// on the integer as sent, before it becomes a Duration: multiplied first, a
// number such as 9223372037 overflows int64 nanoseconds and passes as a
// negative or small grace.
func parseGrace(v *int, f Fields) (time.Duration, error) {
	if v == nil {
		return DefaultGrace, nil
	}
	const maxSeconds = int(MaxGrace / time.Second)
	if *v < 0 || *v > maxSeconds {
		return 0, apierr.New(apierr.BadRequest, "Field '%s' must be an integer from 0 to %d (got %d).", f.or().Grace, maxSeconds, *v)
	}
	return time.Duration(*v) * time.Second, nil
}

func orRand(r io.Reader) io.Reader {
	if r == nil {
		return rand.Reader
	}
	return r
}

// NewID returns a UUID version 4 from r (crypto/rand when nil).
func NewID(r io.Reader) (string, error) {
	r = orRand(r)
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("key id: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:]), nil
}

// ValidID reports whether s has the shape of a key id (a lowercase UUID), so
// a garbled path answers 404 without a store read.
func ValidID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
				return false
			}
		}
	}
	return true
}

// ValidWorkspaceID reports whether s may be a workspace id: 1-64 characters
// from [A-Za-z0-9._-].
func ValidWorkspaceID(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
			return false
		}
	}
	return true
}
