// Package principal is who a request acts as, carried from the authorizer to
// the functions through the API Gateway authorizer context. A key acts as its
// owner: the same sub, tier and team as the owner's JWT, plus the key's prefix
// and daily limit.
package principal

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Tier is a customer's plan.
type Tier string

const (
	Free       Tier = "free"
	Pro        Tier = "pro"
	Team       Tier = "team"
	Enterprise Tier = "enterprise"
)

// ParseTier reads the custom:tier claim: case-insensitive, missing or unknown
// is free (an unknown plan never grants more than the least one).
func ParseTier(s string) Tier {
	switch t := Tier(strings.ToLower(strings.TrimSpace(s))); t {
	case Pro, Team, Enterprise:
		return t
	default:
		return Free
	}
}

// Method is how the request was authenticated.
type Method string

const (
	ViaJWT Method = "jwt"
	ViaKey Method = "key"
)

// Principal is the authenticated caller.
type Principal struct {
	Sub    string
	Tier   Tier
	TeamID string
	Method Method
	// Set only for keys.
	KeyPrefix  string
	KeyName    string
	DailyLimit int
	LastUsedAt time.Time // zero when never used
}

// Authorizer context keys.
const (
	ctxSub        = "sub"
	ctxTier       = "tier"
	ctxTeamID     = "teamId"
	ctxMethod     = "authMethod"
	ctxPrefix     = "keyPrefix"
	ctxKeyName    = "keyName"
	ctxDailyLimit = "dailyLimit"
	ctxLastUsedAt = "lastUsedAt"
)

// Context renders p as an authorizer context. Every value is a string, as API
// Gateway hands them to the integration.
func (p Principal) Context() map[string]any {
	n := 4
	if p.Method == ViaKey {
		n = 8
	}
	m := make(map[string]any, n)
	m[ctxSub] = p.Sub
	m[ctxTier] = constant(string(p.Tier))
	m[ctxTeamID] = p.TeamID
	m[ctxMethod] = constant(string(p.Method))
	if p.Method == ViaKey {
		m[ctxPrefix] = p.KeyPrefix
		m[ctxKeyName] = p.KeyName
		m[ctxDailyLimit] = strconv.Itoa(p.DailyLimit)
		if !p.LastUsedAt.IsZero() {
			m[ctxLastUsedAt] = p.LastUsedAt.UTC().Format(time.RFC3339)
		}
	}
	return m
}

// constant returns the few fixed context values as interfaces that need no
// allocation; this runs on every authorization.
func constant(s string) any {
	switch s {
	case "free":
		return "free"
	case "pro":
		return "pro"
	case "team":
		return "team"
	case "enterprise":
		return "enterprise"
	case "jwt":
		return "jwt"
	case "key":
		return "key"
	}
	return s
}

// FromContext reads the principal the authorizer put in the request context.
func FromContext(m map[string]any) (Principal, error) {
	p := Principal{
		Sub:    str(m[ctxSub]),
		Tier:   ParseTier(str(m[ctxTier])),
		TeamID: str(m[ctxTeamID]),
		Method: Method(str(m[ctxMethod])),
	}
	if p.Sub == "" {
		return Principal{}, fmt.Errorf("authorizer context has no %s", ctxSub)
	}
	switch p.Method {
	case ViaJWT:
	case ViaKey:
		p.KeyPrefix = str(m[ctxPrefix])
		p.KeyName = str(m[ctxKeyName])
		n, err := strconv.Atoi(str(m[ctxDailyLimit]))
		if err != nil || n < 1 || p.KeyPrefix == "" {
			return Principal{}, fmt.Errorf("authorizer context has a key without prefix or daily limit")
		}
		p.DailyLimit = n
		if s := str(m[ctxLastUsedAt]); s != "" {
			if t, err := time.Parse(time.RFC3339, s); err == nil {
				p.LastUsedAt = t
			}
		}
	default:
		return Principal{}, fmt.Errorf("authorizer context has unknown %s %q", ctxMethod, p.Method)
	}
	return p, nil
}

func str(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}
