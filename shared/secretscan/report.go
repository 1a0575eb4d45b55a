package secretscan

import (
	"encoding/json"
	"errors"
	"io"
	"unicode/utf8"

	"github.com/keygate/keygate/shared/jsontext"
)

// Report limits. An item is about 200-400 bytes (a 41-character key, a
// github.com blob URL, the type and source names), so 1 MiB holds 1000 items
// with URLs of up to ~900 bytes each, and is far below what API Gateway (10 MB)
// and a synchronous Lambda invocation (6 MB) carry. 1000 items bound the work
// of one report: each distinct token costs the caller at most a couple of
// store calls, which at 8 in parallel finish in a few seconds, inside the
// Lambda's timeout and GitHub's request timeout (30 s for partners that send
// feedback). GitHub sends one report per batch of matches found together, so
// a real report is far smaller; a larger one is refused with 400, never cut.
const (
	MaxReportBytes = 1 << 20
	MaxReportItems = 1000
)

// Match is one reported secret: what GitHub's regex matched and where.
type Match struct {
	Token  string `json:"token"`  // the matched string (never log it)
	Type   string `json:"type"`   // the secret type's name agreed with GitHub
	URL    string `json:"url"`    // the public URL where it was found; may be empty or absent
	Source string `json:"source"` // where on GitHub it was found (content, commit, ...); absent in older reports
}

// The report item's members keygate reads, in the order GitHub documents
// them; the first two are required.
var members = [...]string{"token", "type", "url", "source"}

const required = 2

// ParseReport reads a report body: a JSON array of objects, each with the
// string members token and type (not empty) and, when present, url and source
// (strings, or null for absent). Other members are ignored, whatever their
// value, so the day GitHub adds one the reports keep working (its older
// reports have no source). A member keygate reads may appear only once; the
// array must be the whole body, valid UTF-8 throughout (no unpaired surrogate
// escapes either), at most MaxReportBytes and MaxReportItems. Errors are
// ErrMalformedReport and name the item and member at fault.
func ParseReport(body []byte) ([]Match, error) {
	if len(body) > MaxReportBytes {
		return nil, malformed("The report is %d bytes; the limit is %d bytes (1 MiB).", len(body), MaxReportBytes)
	}
	if !utf8.Valid(body) {
		// encoding/json would quietly turn bad bytes into U+FFFD, changing
		// the token.
		return nil, malformed("The report is not valid UTF-8.")
	}
	dec := jsontext.NewDecoder(body)
	tok, err := dec.Token()
	if err != nil {
		return nil, syntaxError(err)
	}
	if tok != json.Delim('[') {
		return nil, malformed("The report must be a JSON array of matches.")
	}
	out := []Match{}
	for dec.More() {
		if len(out) == MaxReportItems {
			return nil, malformed("The report has more than %d items.", MaxReportItems)
		}
		m, err := parseItem(dec, len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, syntaxError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, syntaxError(err)
		}
		return nil, malformed("The report must be a single JSON array with nothing after it.")
	}
	return out, nil
}

func parseItem(dec *jsontext.Decoder, i int) (Match, error) {
	tok, err := dec.Token()
	if err != nil {
		return Match{}, syntaxError(err)
	}
	if tok != json.Delim('{') {
		return Match{}, malformed("Report item %d must be a JSON object.", i)
	}
	var m Match
	var seen [len(members)]bool
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return Match{}, syntaxError(err)
		}
		name := tok.(string) // object keys are always strings
		idx := memberIndex(name)
		if idx < 0 {
			if err := skipValue(dec); err != nil {
				return Match{}, err
			}
			continue
		}
		if seen[idx] {
			return Match{}, malformed("Report item %d: member %q appears twice.", i, name)
		}
		seen[idx] = true
		tok, err = dec.Token()
		if err != nil {
			return Match{}, syntaxError(err)
		}
		s, ok := tok.(string)
		if !ok && (tok != nil || idx < required) {
			return Match{}, malformed("Report item %d: member %q must be a string.", i, name)
		}
		switch idx {
		case 0:
			m.Token = s
		case 1:
			m.Type = s
		case 2:
			m.URL = s
		case 3:
			m.Source = s
		}
	}
	if _, err := dec.Token(); err != nil { // the closing '}'
		return Match{}, syntaxError(err)
	}
	for idx := range required {
		if !seen[idx] {
			return Match{}, malformed("Report item %d: member %q is missing.", i, members[idx])
		}
	}
	if m.Token == "" {
		return Match{}, malformed("Report item %d: member \"token\" is empty.", i)
	}
	if m.Type == "" {
		return Match{}, malformed("Report item %d: member \"type\" is empty.", i)
	}
	return m, nil
}

// skipValue passes over one value of any kind, its strings checked like
// every other.
func skipValue(dec *jsontext.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err)
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}

func memberIndex(name string) int {
	for i, n := range members {
		if n == name {
			return i
		}
	}
	return -1
}

// quote renders a caller-chosen string for a message, cut short.
func quote(s string) string {
	const max = 32
	if utf8.RuneCountInString(s) > max {
		r := []rune(s)
		return quoteRunes(r[:max]) + "..."
	}
	return quoteRunes([]rune(s))
}

func quoteRunes(r []rune) string {
	b, _ := json.Marshal(string(r))
	return string(b)
}

func syntaxError(err error) error {
	var syn *json.SyntaxError
	switch {
	case errors.Is(err, jsontext.ErrInvalidUTF8):
		return malformed("The report is not valid UTF-8: a string holds an unpaired \\u surrogate escape.")
	case errors.As(err, &syn):
		return malformed("The report is not valid JSON (error at byte %d).", syn.Offset)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return malformed("The report is not valid JSON (it ends too early).")
	default:
		return malformed("The report is not valid JSON.")
	}
}
