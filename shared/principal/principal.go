// Package principal is who a request acts as, carried from the authorizer to
// the functions through the API Gateway authorizer context. A personal key
// acts as its owner: the same sub, tier and team as the owner's JWT, plus the
// key's prefix, id and budget. A workspace key acts as the workspace: no sub,
// the workspace id, and the sub of the member who created it.
package principal

import (
	"crypto/sha256"
	"encoding/hex"
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
	switch t := Tier(strings.ToLower(s)); t {
	case Pro, Team, Enterprise:
		return t
	default:
		return Free
	}
}

// Paid reports whether the tier may have API keys.
func (t Tier) Paid() bool { return t == Pro || t == Team || t == Enterprise }

// Method is how the request was authenticated.
type Method string

const (
	ViaJWT Method = "jwt"
	ViaKey Method = "key"
)

// TokenLeeway is the clock skew allowed on a JWT's exp, nbf and iat. The
// verifier (cognito.Leeway) accepts a token until exp plus it, and the
// functions (lambdahttp.TokenLeeway) serve its principal as long; one value,
// so neither outlives the other.
const TokenLeeway = 60 * time.Second

// Principal is the authenticated caller.
type Principal struct {
	Sub    string // the user; empty for a workspace key
	Tier   Tier
	TeamID string // custom:teamId; for a workspace key, the workspace
	Method Method
	// IssuerTag names the user pool that issued the caller's identity: ""
	// for the first trusted issuer, else IssuerTagOf its URL. A user is
	// (issuer, sub) and a workspace (issuer, teamId): see Qualify.
	IssuerTag string
	// Email is the JWT's email claim when it has one (ID tokens do).
	Email string
	// Exp is when a JWT expires. The functions refuse a principal past it, so
	// a cached authorizer answer never outlives its token.
	Exp time.Time

	// Set only for keys.
	KeyPrefix string
	KeyID     string
	KeyName   string
	// Budget names the daily counter the key draws on (shared by a rotated
	// key and its successor).
	Budget string
	// WorkspaceID is set when the key belongs to a workspace, not a person.
	WorkspaceID string
	// CreatedBy is the sub of the user who created the key.
	CreatedBy string
	// DailyLimit is the key's limit: as the authorizer read it, replaced by
	// the stored one the meter enforced once the request is counted.
	DailyLimit int
	// Scopes are what the key may call: AllScopes, or scope names sorted and
	// joined by one space. Empty for a JWT, which may call everything.
	Scopes string
	// AllowedIPs are the networks the key may be used from, canonical
	// prefixes joined by commas; empty: anywhere.
	AllowedIPs string
}

// AllScopes is the Scopes of a key that may call every route.
const AllScopes = "*"

// HasScope reports whether p may call a route that needs scope (none: "").
func (p Principal) HasScope(scope string) bool {
	if scope == "" || p.Method != ViaKey || p.Scopes == AllScopes || p.Scopes == "" {
		return true
	}
	s := p.Scopes
	for s != "" {
		name, rest, _ := strings.Cut(s, " ")
		if name == scope {
			return true
		}
		s = rest
	}
	return false
}

// ScopeList is p's scopes as a list: ["*"] for a JWT or an unrestricted key.
func (p Principal) ScopeList() []string {
	if p.Method != ViaKey || p.Scopes == "" {
		return []string{AllScopes}
	}
	return strings.Split(p.Scopes, " ")
}

// IssuerTagOf is the tag of a trusted issuer that is not the first one: eight
// hex digits of the SHA-256 of its URL, stable across deployments.
func IssuerTagOf(issuer string) string {
	sum := sha256.Sum256([]byte(issuer))
	return hex.EncodeToString(sum[:4])
}

// primaryMark tags an identity of the first issuer that itself holds the
// separator, so that every qualified id splits one way.
const primaryMark = "~"

// Qualify is the owner id of a user's sub or a workspace's team id issued by
// the pool of tag: the id itself for the first trusted issuer (so data
// written before several issuers were trusted stays valid), tag|id for any
// other. Two pools that both have a team called acme have two workspaces.
func Qualify(tag, id string) string {
	switch {
	case tag == "" && !strings.Contains(id, "|"):
		return id
	case tag == "":
		return primaryMark + "|" + id
	}
	return tag + "|" + id
}

// Unqualify splits an owner id made by Qualify into the issuer tag and the
// id as the issuer wrote it.
func Unqualify(owner string) (tag, id string) {
	tag, id, ok := strings.Cut(owner, "|")
	if !ok {
		return "", owner
	}
	if tag == primaryMark {
		tag = ""
	}
	return tag, id
}

// UserID is the caller's owner id as a user (see Qualify).
func (p Principal) UserID() string { return Qualify(p.IssuerTag, p.Sub) }

// WorkspaceKey reports whether p is a key that belongs to a workspace.
func (p Principal) WorkspaceKey() bool { return p.Method == ViaKey && p.WorkspaceID != "" }

// ID is the principal's identity for API Gateway's principalId and logs:
// the sub, or workspace:<id> for a workspace key.
func (p Principal) ID() string {
	if p.WorkspaceKey() {
		return "workspace:" + p.WorkspaceID
	}
	return p.Sub
}

// Authorizer context keys.
const (
	ctxSub         = "sub"
	ctxTier        = "tier"
	ctxTeamID      = "teamId"
	ctxMethod      = "authMethod"
	ctxExp         = "exp"
	ctxPrefix      = "keyPrefix"
	ctxKeyID       = "keyId"
	ctxKeyName     = "keyName"
	ctxDailyLimit  = "dailyLimit"
	ctxBudget      = "budget"
	ctxOwnerKind   = "ownerKind"
	ctxWorkspaceID = "workspaceId"
	ctxCreatedBy   = "createdBy"
	ctxIssuerTag   = "issuerTag"
	ctxEmail       = "email"
	ctxScopes      = "scopes"
	ctxAllowedIPs  = "allowedIps"
)

// Owner kinds in the context.
const (
	ownerUser      = "user"
	ownerWorkspace = "workspace"
)

// Context renders p as an authorizer context. Every value is a string, as API
// Gateway hands them to the integration.
func (p Principal) Context() map[string]any {
	n := 7
	if p.Method == ViaKey {
		n = 17
	}
	m := make(map[string]any, n)
	m[ctxSub] = p.Sub
	m[ctxTier] = constant(string(p.Tier))
	m[ctxTeamID] = p.TeamID
	m[ctxMethod] = constant(string(p.Method))
	if !p.Exp.IsZero() {
		m[ctxExp] = strconv.FormatInt(p.Exp.Unix(), 10)
	}
	if p.IssuerTag != "" {
		m[ctxIssuerTag] = p.IssuerTag
	}
	if p.Email != "" {
		m[ctxEmail] = p.Email
	}
	if p.Method == ViaKey {
		scopes := p.Scopes
		if scopes == "" {
			scopes = AllScopes
		}
		m[ctxScopes] = constant(scopes)
		if p.AllowedIPs != "" {
			m[ctxAllowedIPs] = p.AllowedIPs
		}
		m[ctxPrefix] = p.KeyPrefix
		m[ctxKeyID] = p.KeyID
		m[ctxKeyName] = p.KeyName
		m[ctxDailyLimit] = strconv.Itoa(p.DailyLimit)
		m[ctxBudget] = p.Budget
		m[ctxCreatedBy] = p.CreatedBy
		if p.WorkspaceID != "" {
			m[ctxOwnerKind] = constant(ownerWorkspace)
			m[ctxWorkspaceID] = p.WorkspaceID
		} else {
			m[ctxOwnerKind] = constant(ownerUser)
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
	case "user":
		return "user"
	case "workspace":
		return "workspace"
	case AllScopes:
		return AllScopes
	}
	return s
}

// FromContext reads the principal the authorizer put in the request context.
// Anything missing or malformed is an error: the context is written by
// keygate's own authorizer, so a bad one is a bug or a misconfigured route.
func FromContext(m map[string]any) (Principal, error) {
	p := Principal{
		Sub:       str(m[ctxSub]),
		Tier:      ParseTier(str(m[ctxTier])),
		TeamID:    str(m[ctxTeamID]),
		Method:    Method(str(m[ctxMethod])),
		IssuerTag: str(m[ctxIssuerTag]),
		Email:     str(m[ctxEmail]),
	}
	if s := str(m[ctxExp]); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			return Principal{}, fmt.Errorf("authorizer context has a malformed %s", ctxExp)
		}
		p.Exp = time.Unix(n, 0).UTC()
	}
	switch p.Method {
	case ViaJWT:
		if p.Sub == "" {
			return Principal{}, fmt.Errorf("authorizer context has no %s", ctxSub)
		}
	case ViaKey:
		p.KeyPrefix = str(m[ctxPrefix])
		p.KeyID = str(m[ctxKeyID])
		p.KeyName = str(m[ctxKeyName])
		p.Budget = str(m[ctxBudget])
		p.CreatedBy = str(m[ctxCreatedBy])
		p.AllowedIPs = str(m[ctxAllowedIPs])
		if p.Scopes = str(m[ctxScopes]); p.Scopes == "" {
			// A context rendered before keys had scopes (an authorizer
			// answer cached across a deployment): the key may call all.
			p.Scopes = AllScopes
		}
		if p.KeyPrefix == "" || p.Budget == "" {
			return Principal{}, fmt.Errorf("authorizer context has a key without prefix or budget")
		}
		if s := str(m[ctxDailyLimit]); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return Principal{}, fmt.Errorf("authorizer context has a malformed %s", ctxDailyLimit)
			}
			p.DailyLimit = n
		}
		switch str(m[ctxOwnerKind]) {
		case ownerUser:
			if p.Sub == "" {
				return Principal{}, fmt.Errorf("authorizer context has a personal key without %s", ctxSub)
			}
		case ownerWorkspace:
			if p.WorkspaceID = str(m[ctxWorkspaceID]); p.WorkspaceID == "" {
				return Principal{}, fmt.Errorf("authorizer context has a workspace key without %s", ctxWorkspaceID)
			}
		default:
			return Principal{}, fmt.Errorf("authorizer context has unknown %s", ctxOwnerKind)
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
