package secretscan

import "regexp"

// The secret scanning pattern for keygate keys, in the three parts GitHub's
// pattern definitions use (secret format, the character before it, the
// character after it; GitHub's defaults for the latter two are the ones used
// here). A key is csk_live_ and exactly 32 lowercase hex characters, standing
// alone: not inside a longer run of letters or digits (a 33rd hex character, an
// uppercase hex character or any other letter or digit on either side means
// it is not a key), while quotes, '=', ':', '_', '-', whitespace, line ends
// and the start or end of the text delimit it.
const (
	PatternSecret = `csk_live_[0-9a-f]{32}`
	PatternBefore = `\A|[^0-9A-Za-z]`
	PatternAfter  = `\z|[^0-9A-Za-z]`
)

// Pattern is the three parts as one regular expression (RE2 and PCRE alike);
// its first group is the secret.
const Pattern = `(?:` + PatternBefore + `)(` + PatternSecret + `)(?:` + PatternAfter + `)`

var patternRE = regexp.MustCompile(Pattern)

// FindKeys returns every string in text that GitHub would report under the
// pattern.
func FindKeys(text string) []string {
	var out []string
	// Matches are found one at a time from just after the previous secret,
	// because the delimiter after one key may be the one before the next.
	for rest := text; ; {
		loc := patternRE.FindStringSubmatchIndex(rest)
		if loc == nil {
			return out
		}
		out = append(out, rest[loc[2]:loc[3]])
		rest = rest[loc[3]:]
	}
}

// PatternExample is a test string of the pattern: the README's table and the
// tests both come from PatternExamples.
type PatternExample struct {
	Text string   // the text scanned
	Want []string // the secrets GitHub must report from it; none: must not match
	Why  string
}

// PatternExamples are the strings that must and must not match.
var PatternExamples = []PatternExample{
	{"csk_live_0123456789abcdef0123456789abcdef", []string{"csk_live_0123456789abcdef0123456789abcdef"}, "a whole key alone"},
	{`KEYGATE_KEY="csk_live_a1b2c3d4e5f67890abcdef1234567890"`, []string{"csk_live_a1b2c3d4e5f67890abcdef1234567890"}, "in quotes after ="},
	{"Authorization: Bearer csk_live_ffffffffffffffffffffffffffffffff\n", []string{"csk_live_ffffffffffffffffffffffffffffffff"}, "in a header line"},
	{"key:csk_live_00000000000000000000000000000000,next", []string{"csk_live_00000000000000000000000000000000"}, "between ':' and ','"},
	{"_csk_live_0123456789abcdef0123456789abcdef-", []string{"csk_live_0123456789abcdef0123456789abcdef"}, "'_' and '-' delimit"},
	{"csk_live_0123456789abcdef0123456789abcdef csk_live_fedcba9876543210fedcba9876543210", []string{"csk_live_0123456789abcdef0123456789abcdef", "csk_live_fedcba9876543210fedcba9876543210"}, "two keys, one space apart"},
	{"csk_live_0123456789abcdef0123456789abcdef0", nil, "33 hex characters: inside a longer hex run"},
	{"0csk_live_0123456789abcdef0123456789abcdef", nil, "a digit right before"},
	{"xcsk_live_0123456789abcdef0123456789abcdef", nil, "a letter right before"},
	{"csk_live_0123456789abcdef0123456789abcdeg", nil, "a non-hex letter in the 32"},
	{"csk_live_0123456789ABCDEF0123456789abcdef", nil, "uppercase hex"},
	{"csk_live_0123456789abcdef0123456789abcde", nil, "31 hex characters"},
	{"CSK_LIVE_0123456789abcdef0123456789abcdef", nil, "uppercase scheme"},
	{"csk_test_0123456789abcdef0123456789abcdef", nil, "not a live key"},
	{"csk_live_0123456789abcdef", nil, "a prefix-length fragment"},
}
