package keys

import (
	"net/netip"
	"slices"
	"strings"
	"sync"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/principal"
)

// MaxAllowedIPs is the most networks a key may be limited to.
const MaxAllowedIPs = 20

// ScopeChecker tells which scope names a deployment has (its route table's).
type ScopeChecker interface {
	HasScope(name string) bool
}

// ParseScopes checks a key's scopes as a request gave them: ["*"] for every
// scope, or names the deployment's routes declare, each once. It returns the
// canonical form a principal carries (principal.AllScopes, or the names
// sorted and joined by one space).
func ParseScopes(list []string, known ScopeChecker, f Fields) (string, error) {
	field := f.or().Scopes
	if len(list) == 0 {
		return "", apierr.New(apierr.BadRequest, "Field '%s' must list at least one scope, or [\"*\"] for every scope.", field)
	}
	seen := make(map[string]bool, len(list))
	for _, s := range list {
		switch {
		case s == principal.AllScopes && len(list) > 1:
			return "", apierr.New(apierr.BadRequest, "Field '%s' holds \"*\" (every scope) together with other names; give either [\"*\"] or the names.", field)
		case s == principal.AllScopes:
		case known == nil || !known.HasScope(s):
			return "", apierr.New(apierr.BadRequest, "Field '%s' names %q, which is not a scope of this API; GET /v1/scopes lists them.", field, clip(s))
		}
		if seen[s] {
			return "", apierr.New(apierr.BadRequest, "Field '%s' names %q twice.", field, clip(s))
		}
		seen[s] = true
	}
	names := slices.Clone(list)
	slices.Sort(names)
	return strings.Join(names, " "), nil
}

// ScopeList is a canonical scope string as the key object shows it.
func ScopeList(canonical string) []string {
	if canonical == "" {
		return []string{principal.AllScopes}
	}
	return strings.Split(canonical, " ")
}

// ParseAllowedIPs checks a key's networks: at most MaxAllowedIPs IPv4 or IPv6
// CIDR prefixes or bare addresses (a /32 or /128), each once, none with host
// bits set beyond its prefix, no zones. It returns the canonical form ("" for
// anywhere): each prefix as netip writes it, in the order given, joined by
// commas.
func ParseAllowedIPs(list []string, f Fields) (string, error) {
	field := f.or().AllowedIPs
	if len(list) > MaxAllowedIPs {
		return "", apierr.New(apierr.BadRequest, "Field '%s' may list at most %d networks (got %d).", field, MaxAllowedIPs, len(list))
	}
	out := make([]string, 0, len(list))
	for _, entry := range list {
		p, err := parseNetwork(entry)
		if err != nil {
			return "", apierr.New(apierr.BadRequest, "Field '%s': %q %s.", field, clip(entry), err.Error())
		}
		c := p.String()
		if slices.Contains(out, c) {
			return "", apierr.New(apierr.BadRequest, "Field '%s' lists %s twice.", field, c)
		}
		out = append(out, c)
	}
	return strings.Join(out, ","), nil
}

type networkError string

func (e networkError) Error() string { return string(e) }

func parseNetwork(s string) (netip.Prefix, error) {
	if strings.ContainsAny(s, "%") {
		return netip.Prefix{}, networkError("has a zone, which a network cannot")
	}
	if !strings.Contains(s, "/") {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, networkError("is not an IPv4 or IPv6 address or CIDR prefix (e.g. 203.0.113.0/24, 2001:db8::/32, 198.51.100.7)")
		}
		if a.Is4In6() {
			return netip.Prefix{}, networkError("is an IPv4-mapped IPv6 address; write the IPv4 address")
		}
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, networkError("is not an IPv4 or IPv6 address or CIDR prefix (e.g. 203.0.113.0/24, 2001:db8::/32, 198.51.100.7)")
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, networkError("is an IPv4-mapped IPv6 prefix; write the IPv4 prefix")
	}
	if p.Masked() != p {
		return netip.Prefix{}, networkError("has host bits set; the network is " + p.Masked().String())
	}
	return p, nil
}

// AllowedIPList is a canonical networks string as the key object shows it
// ([] when unrestricted).
func AllowedIPList(canonical string) []string {
	if canonical == "" {
		return []string{}
	}
	return strings.Split(canonical, ",")
}

// Networks are a key's allowed networks, parsed once per canonical string.
type Networks []netip.Prefix

// networks caches parsed canonical strings: the route adapter checks every
// key request's source address, and a warm function sees the same few keys.
var networks = struct {
	sync.RWMutex
	m map[string]Networks
}{m: map[string]Networks{}}

// maxParsedNetworks bounds the cache; past it, it starts again empty.
const maxParsedNetworks = 4096

// NetworksOf parses a canonical networks string ("" is nil: anywhere). A
// string that does not parse allows nothing.
func NetworksOf(canonical string) Networks {
	if canonical == "" {
		return nil
	}
	networks.RLock()
	n, ok := networks.m[canonical]
	networks.RUnlock()
	if ok {
		return n
	}
	n = Networks{}
	for _, s := range strings.Split(canonical, ",") {
		if p, err := netip.ParsePrefix(s); err == nil {
			n = append(n, p)
		}
	}
	networks.Lock()
	if len(networks.m) >= maxParsedNetworks {
		networks.m = map[string]Networks{}
	}
	networks.m[canonical] = n
	networks.Unlock()
	return n
}

// Allows reports whether addr is in one of the networks; nil allows every
// address, an invalid address none (when there are networks).
func (n Networks) Allows(addr netip.Addr) bool {
	if n == nil {
		return true
	}
	addr = addr.Unmap()
	for _, p := range n {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
