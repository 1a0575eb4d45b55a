package secretscan

// Label is GitHub's verdict vocabulary for a reported token; only these two
// lowercase strings are accepted.
type Label string

const (
	TruePositive  Label = "true_positive"
	FalsePositive Label = "false_positive"
)

// Feedback is one element of the response body GitHub reads as feedback on a
// report: a JSON array of these. GitHub takes the token either raw
// (token_raw) or as its SHA-256 (token_hash), never both; the raw form is
// sent back because GitHub's page does not say how the hash is to be encoded,
// and the caller (GitHub, by the verified signature) sent the token itself.
type Feedback struct {
	TokenRaw  string `json:"token_raw"`
	TokenType string `json:"token_type"`
	Label     Label  `json:"label"`
}

// Verdict is a reported match and whether it was a live secret.
func Verdict(m Match, truePositive bool) Feedback {
	l := FalsePositive
	if truePositive {
		l = TruePositive
	}
	return Feedback{TokenRaw: m.Token, TokenType: m.Type, Label: l}
}

// Distinct returns the matches with each token once, in the order of first
// appearance: GitHub may report one token found in several places in the same
// report, and a token gets one verdict. The type kept is the first one; the
// URL kept is the first one that is not empty.
func Distinct(ms []Match) []Match {
	at := make(map[string]int, len(ms))
	out := make([]Match, 0, len(ms))
	for _, m := range ms {
		i, ok := at[m.Token]
		if !ok {
			at[m.Token] = len(out)
			out = append(out, m)
			continue
		}
		if out[i].URL == "" {
			out[i].URL = m.URL
		}
	}
	return out
}
