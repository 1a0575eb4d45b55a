package keys_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/keygate/keygate/route"
	"github.com/keygate/keygate/shared/keys"
)

func TestParseAllowedIPs(t *testing.T) {
	ok := []struct {
		in   []string
		want string
	}{
		{nil, ""},
		{[]string{}, ""},
		{[]string{"203.0.113.0/24", "2001:db8::/32", "198.51.100.7"}, "203.0.113.0/24,2001:db8::/32,198.51.100.7/32"},
		{[]string{"::1"}, "::1/128"},
		{[]string{"0.0.0.0/0"}, "0.0.0.0/0"},
	}
	for _, tt := range ok {
		got, err := keys.ParseAllowedIPs(tt.in, keys.CamelCase)
		if err != nil || got != tt.want {
			t.Errorf("ParseAllowedIPs(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range [][]string{{"10.0.0.0/33"}, {"10.0.0.1/8"}, {"x"}, {""}, {"fe80::1%eth0"}, {"::ffff:1.2.3.4"},
		{"1.2.3.4", "1.2.3.4/32"}, {" 1.2.3.4"}, strings.Split(strings.Repeat("1.1.1.1,", 21), ",")[:21]} {
		_, err := keys.ParseAllowedIPs(in, keys.SnakeCase)
		if err == nil || !strings.Contains(err.Error(), "'allowed_ips'") {
			t.Errorf("ParseAllowedIPs(%q) = %v, want a 400 naming allowed_ips", in, err)
		}
	}
	n := keys.NetworksOf("10.0.0.0/8,::1/128")
	for addr, want := range map[string]bool{"10.1.2.3": true, "::1": true, "::ffff:10.0.0.1": true, "11.0.0.1": false, "::2": false} {
		if n.Allows(netip.MustParseAddr(addr)) != want {
			t.Errorf("Allows(%s) = %v", addr, !want)
		}
	}
	if !keys.NetworksOf("").Allows(netip.Addr{}) || n.Allows(netip.Addr{}) {
		t.Error("no networks allow anything, networks never an unknown address")
	}
}

func TestParseScopes(t *testing.T) {
	known := route.Table{{Method: "GET", Path: "/a", Scope: "a:read"}, {Method: "POST", Path: "/a", Scope: "a:write"}}
	if got, err := keys.ParseScopes([]string{"a:write", "a:read"}, known, keys.CamelCase); err != nil || got != "a:read a:write" {
		t.Fatalf("%q %v", got, err)
	}
	if got, err := keys.ParseScopes([]string{"*"}, known, keys.CamelCase); err != nil || got != "*" {
		t.Fatalf("%q %v", got, err)
	}
	for _, in := range [][]string{{}, {"a:delete"}, {"a:read", "a:read"}, {"*", "a:read"}, {"*", "*"}} {
		if _, err := keys.ParseScopes(in, known, keys.CamelCase); err == nil || !strings.Contains(err.Error(), "'scopes'") {
			t.Errorf("ParseScopes(%q) = %v", in, err)
		}
	}
}

// FuzzParseAllowedIPs: no input panics; an accepted list is canonical (its
// canonical form parses to itself), has at most 20 entries, and each entry's
// own network address is allowed while nothing is allowed from an address
// the parser refused.
func FuzzParseAllowedIPs(f *testing.F) {
	for _, s := range []string{"203.0.113.0/24,2001:db8::/32,198.51.100.7", "10.0.0.1/8", "::ffff:1.2.3.4", "fe80::1%eth0", "", "0.0.0.0/0", "1.2.3.4,1.2.3.4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, list string) {
		in := strings.Split(list, ",")
		got, err := keys.ParseAllowedIPs(in, keys.CamelCase)
		if err != nil {
			return
		}
		again, err := keys.ParseAllowedIPs(keys.AllowedIPList(got), keys.CamelCase)
		if err != nil || again != got {
			t.Fatalf("canonical %q re-parses to %q, %v", got, again, err)
		}
		entries := keys.AllowedIPList(got)
		n := keys.NetworksOf(got)
		if len(entries) > keys.MaxAllowedIPs || len(n) != len(entries) {
			t.Fatalf("%q: %d entries, %d networks", got, len(entries), len(n))
		}
		for _, p := range n {
			if !n.Allows(p.Addr()) {
				t.Fatalf("%q does not allow its own %s", got, p.Addr())
			}
		}
	})
}

// BenchmarkNetworksAllows is the route adapter's network check on a warm
// function: the canonical string parsed once (NetworksOf's cache), then a
// match of the source address against each prefix.
func BenchmarkNetworksAllows(b *testing.B) {
	const canonical = "203.0.113.0/24,2001:db8::/32,198.51.100.7/32,10.0.0.0/8"
	from := netip.MustParseAddr("10.1.2.3")
	keys.NetworksOf(canonical)
	b.ReportAllocs()
	for b.Loop() {
		if !keys.NetworksOf(canonical).Allows(from) {
			b.Fatal("refused")
		}
	}
}
