package devstack

import "testing"

func TestFirstOf(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"a", "a"},
		{"a,b", "a"},
		{" a ,b", "a"},
		{",b", ""},
	} {
		if got := FirstOf(tt.in); got != tt.want {
			t.Errorf("FirstOf(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
