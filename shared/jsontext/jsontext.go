// Package jsontext reads JSON strings strictly: a string must be valid UTF-8,
// and a \u escape of a UTF-16 surrogate must be one half of a pair.
// encoding/json replaces either fault with U+FFFD without a word, so "ab\xffcd"
// and "ab\ud800cd" both arrive as "ab\uFFFDcd": two different inputs become one
// value, and a check for valid UTF-8 after decoding can never fire. Every
// decoder of untrusted JSON in keygate (request bodies, JWT claims, secret
// scanning reports) reads its strings through here first.
package jsontext

import (
	"bytes"
	"encoding/json"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// ErrInvalidUTF8 is a string with bytes that are not UTF-8 or an unpaired
// surrogate escape.
var ErrInvalidUTF8 = errors.New("a string is not valid UTF-8 (invalid bytes or an unpaired \\u surrogate escape)")

// errSyntax is an escape that is not JSON at all; callers run a JSON
// validator before, so it only guards against misuse.
var errSyntax = errors.New("malformed string escape")

// Unquote decodes the inside of a JSON string literal (the bytes between its
// quotes). The common case, no escape, costs one UTF-8 scan and the copy into
// a string.
func Unquote(s []byte) (string, error) {
	if !utf8.Valid(s) {
		return "", ErrInvalidUTF8
	}
	i := bytes.IndexByte(s, '\\')
	if i < 0 {
		return string(s), nil
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for i < len(s) {
		c := s[i]
		if c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", errSyntax
		}
		switch e := s[i+1]; e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(s[i+2:])
			if !ok {
				return "", errSyntax
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// Only a high surrogate followed at once by a low one
				// is a character.
				if r >= 0xDC00 || i+6 > len(s) || s[i] != '\\' || s[i+1] != 'u' {
					return "", ErrInvalidUTF8
				}
				lo, ok := hex4(s[i+2:])
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return "", ErrInvalidUTF8
				}
				r = utf16.DecodeRune(r, lo)
				i += 6
			}
			b = utf8.AppendRune(b, r)
			continue
		default:
			return "", errSyntax
		}
		i += 2
	}
	return string(b), nil
}

func hex4(s []byte) (rune, bool) {
	if len(s) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// Decoder is a json.Decoder over a body in memory whose Token also checks
// each string token (member names included) as Unquote does, returning
// ErrInvalidUTF8 for one that encoding/json would have rewritten. Use Token
// and More only: Decode would move past strings unchecked.
type Decoder struct {
	*json.Decoder
	body []byte
	off  int64
}

// NewDecoder reads body.
func NewDecoder(body []byte) *Decoder {
	return &Decoder{Decoder: json.NewDecoder(bytes.NewReader(body)), body: body}
}

// Token is json.Decoder's Token, and ErrInvalidUTF8 (with the token) for a
// string whose literal is not valid UTF-8.
func (d *Decoder) Token() (json.Token, error) {
	tok, err := d.Decoder.Token()
	if err != nil {
		return tok, err
	}
	// The bytes between the last token's end and this one's are
	// separators, blanks and the token itself; for a string, its literal
	// runs from the first quote to the last byte.
	end := d.Decoder.InputOffset()
	seg := d.body[d.off:end]
	d.off = end
	if _, ok := tok.(string); ok {
		if q := bytes.IndexByte(seg, '"'); q >= 0 && len(seg)-1 > q {
			if _, err := Unquote(seg[q+1 : len(seg)-1]); err != nil {
				return tok, err
			}
		}
	}
	return tok, nil
}
