package clock

import (
	"testing"
	"time"
)

func TestNextMidnight(t *testing.T) {
	cases := []struct{ at, want string }{
		{"2026-11-25T23:59:59.999Z", "2026-11-26T00:00:00Z"},
		{"2026-11-26T00:00:00Z", "2026-11-27T00:00:00Z"},
		{"2026-12-31T12:00:00Z", "2027-01-01T00:00:00Z"},
		{"2028-02-28T08:00:00+09:00", "2028-02-28T00:00:00Z"},
	}
	for _, tc := range cases {
		at, _ := time.Parse(time.RFC3339Nano, tc.at)
		if got := NextMidnight(at).Format(time.RFC3339); got != tc.want {
			t.Errorf("NextMidnight(%s) = %s, want %s", tc.at, got, tc.want)
		}
	}
	if d := Day(time.Date(2026, 11, 25, 23, 59, 59, 999e6, time.UTC)); d != "2026-11-25" {
		t.Errorf("Day = %s", d)
	}
}
