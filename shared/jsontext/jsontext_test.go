package jsontext_test

import (
	"encoding/json"
	"errors"
	"io"
	"testing"

	"github.com/keygate/keygate/shared/jsontext"
)

func TestUnquote(t *testing.T) {
	tests := []struct {
		name, in, want string
		bad            bool
	}{
		{"plain ASCII", `abc`, "abc", false},
		{"multibyte UTF-8 as is", "jöhn ✓ 😀", "jöhn ✓ 😀", false},
		{"the simple escapes", `\"\\\/\b\f\n\r\t`, "\"\\/\b\f\n\r\t", false},
		{"a BMP escape", `caf\u00e9`, "café", false},
		{"a surrogate pair escape", `\ud83d\ude00`, "😀", false},
		{"a surrogate pair in upper case hex", `\uD83D\uDE00`, "😀", false},
		{"an escaped U+FFFD is a real character", `\ufffd`, "\uFFFD", false},
		{"a raw 0xff byte", "ab\xffcd", "", true},
		{"a truncated sequence", "ab\xe2\x9c", "", true},
		{"an overlong encoding", "\xc0\xaf", "", true},
		{"an encoded surrogate", "\xed\xa0\x80", "", true},
		{"a lone high surrogate escape", `a\ud800b`, "", true},
		{"a lone low surrogate escape", `\udc00`, "", true},
		{"a high surrogate escape at the end", `a\ud800`, "", true},
		{"two high surrogate escapes", `\ud800\ud800`, "", true},
		{"a high surrogate before a plain escape", `\ud800\u0041`, "", true},
		{"a high surrogate before a character", `\ud800x`, "", true},
		{"a reversed pair", `\ude00\ud83d`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jsontext.Unquote([]byte(tt.in))
			if tt.bad {
				if !errors.Is(err, jsontext.ErrInvalidUTF8) {
					t.Fatalf("Unquote = %q, %v; want ErrInvalidUTF8", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Unquote = %q, %v; want %q", got, err, tt.want)
			}
			// Whatever is accepted decodes as encoding/json decodes it.
			var std string
			if err := json.Unmarshal([]byte(`"`+tt.in+`"`), &std); err != nil || std != got {
				t.Fatalf("encoding/json reads %q (%v), Unquote %q", std, err, got)
			}
		})
	}
}

func TestDecoderChecksEveryString(t *testing.T) {
	tests := []struct {
		name, body string
		bad        bool
	}{
		{"a clean object", `{"a":"x","b":[1,"y",{"c":"z"}]}`, false},
		{"escapes that are fine", `{"n\u0061me":"\ud83d\ude00"}`, false},
		{"a bad value", "{\"a\":\"x\xff\"}", true},
		{"a bad member name", "{\"a\xff\":1}", true},
		{"a lone surrogate deep inside", `{"a":[{"b":["ok","\ud800"]}]}`, true},
		{"a lone surrogate in a name", `{"\udc00":1}`, true},
		{"blanks around", " { \"a\" : \"\\ud800\" } ", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := jsontext.NewDecoder([]byte(tt.body))
			var err error
			for err == nil {
				_, err = d.Token()
			}
			if tt.bad != errors.Is(err, jsontext.ErrInvalidUTF8) || (!tt.bad && !errors.Is(err, io.EOF)) {
				t.Fatalf("ended with %v", err)
			}
		})
	}
}
