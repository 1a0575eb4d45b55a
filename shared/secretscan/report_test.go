package secretscan_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/keygate/keygate/shared/secretscan"
)

const item = `{"token":"csk_live_0123456789abcdef0123456789abcdef","type":"keygate_api_key","url":"https://github.com/o/r/blob/1/f","source":"content"}`

func TestParseReport(t *testing.T) {
	want := secretscan.Match{Token: "csk_live_0123456789abcdef0123456789abcdef", Type: "keygate_api_key", URL: "https://github.com/o/r/blob/1/f", Source: "content"}
	many := func(n int) string { return "[" + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + "]" }

	tests := []struct {
		name    string
		body    string
		want    int    // items, when accepted
		wantMsg string // part of the error message, when refused
	}{
		{"one item", "[" + item + "]", 1, ""},
		{"GitHub's documented sample", `[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]`, 1, ""},
		{"members in any order, whitespace around", " [ {\"url\":\"\",\"source\":\"Content\",\"type\":\"t\",\"token\":\"x\"} ]\n", 1, ""},
		{"an empty url is allowed", `[{"token":"x","type":"t","url":"","source":"npm"}]`, 1, ""},
		{"escaped member names are the same names", `[{"tok\u0065n":"x","type":"t","url":"","source":"s"}]`, 1, ""},
		{"no items", `[]`, 0, ""},
		{"the batch limit", many(secretscan.MaxReportItems), secretscan.MaxReportItems, ""},

		{"one item over the batch limit", many(secretscan.MaxReportItems + 1), 0, "more than 1000 items"},
		{"an object, not an array", item, 0, "JSON array"},
		{"not JSON", `hello`, 0, "not valid JSON"},
		{"empty body", ``, 0, "not valid JSON"},
		{"truncated", `[` + item, 0, "not valid JSON"},
		{"trailing comma", `[` + item + `,]`, 0, "not valid JSON"},
		{"a second value after the array", `[` + item + `] []`, 0, "nothing after it"},
		{"garbage after the array", `[` + item + `]x`, 0, "not valid JSON"},
		{"an item that is not an object", `["csk_live_0123456789abcdef0123456789abcdef"]`, 0, "item 0 must be a JSON object"},
		{"a nested array item", `[[` + item + `]]`, 0, "item 0 must be a JSON object"},
		{"duplicated token", `[{"token":"a","token":"b","type":"t","url":"","source":"s"}]`, 0, `member "token" appears twice`},
		{"duplicated url, the second escaped", `[{"token":"a","type":"t","url":"","source":"s","\u0075rl":"x"}]`, 0, `member "url" appears twice`},
		{"an unknown member is ignored", `[{"token":"a","type":"t","url":"","source":"s","secret":"x"}]`, 1, ""},
		{"unknown members of any shape are ignored", `[{"token":"a","type":"t","n":1.5,"b":true,"z":null,"o":{"token":"b","k":[1,{"x":"y"}]},"l":["token"]}]`, 1, ""},
		{"a member name in another case is an unknown member, ignored", `[{"Token":"a","token":"b","type":"t"}]`, 1, ""},
		{"missing source (GitHub's oldest sample) is accepted", `[{"token":"a","type":"t","url":""}]`, 1, ""},
		{"missing url is accepted", `[{"token":"a","type":"t","source":"s"}]`, 1, ""},
		{"token and type alone are accepted", `[{"type":"t","token":"a"}]`, 1, ""},
		{"null url and source are accepted as absent", `[{"token":"a","type":"t","url":null,"source":null}]`, 1, ""},
		{"missing token", `[{"type":"t","url":"","source":"s"}]`, 0, `member "token" is missing`},
		{"missing type", `[{"token":"a","url":"","source":"s"}]`, 0, `member "type" is missing`},
		{"type not a string", `[{"token":"a","type":["t"]}]`, 0, `member "type" must be a string`},
		{"source a number", `[{"token":"a","type":"t","source":1}]`, 0, `member "source" must be a string`},
		{"a lone surrogate escape in a token", `[{"token":"csk_live_\ud800","type":"t"}]`, 0, "UTF-8"},
		{"a lone surrogate escape in an unknown member", `[{"token":"a","type":"t","x":"\udc00"}]`, 0, "UTF-8"},
		{"token not a string", `[{"token":1,"type":"t","url":"","source":"s"}]`, 0, `member "token" must be a string`},
		{"token null", `[{"token":null,"type":"t","url":"","source":"s"}]`, 0, `member "token" must be a string`},
		{"url an object", `[{"token":"a","type":"t","url":{},"source":"s"}]`, 0, `member "url" must be a string`},
		{"empty token", `[{"token":"","type":"t","url":"","source":"s"}]`, 0, `member "token" is empty`},
		{"empty type", `[{"token":"a","type":"","url":"","source":"s"}]`, 0, `member "type" is empty`},
		{"the error names the item", "[" + item + `,{"token":"a"}]`, 0, `item 1: member "type" is missing`},
		{"invalid UTF-8", "[{\"token\":\"a\xff\",\"type\":\"t\",\"url\":\"\",\"source\":\"s\"}]", 0, "UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := secretscan.ParseReport([]byte(tt.body))
			if tt.wantMsg == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != tt.want {
					t.Fatalf("%d items, want %d", len(got), tt.want)
				}
				if tt.want > 0 && strings.Contains(tt.body, item) && got[0] != want {
					t.Fatalf("item 0 = %+v", got[0])
				}
				return
			}
			if !errors.Is(err, secretscan.ErrMalformedReport) {
				t.Fatalf("err = %v, want ErrMalformedReport", err)
			}
			var e *secretscan.Error
			if !errors.As(err, &e) || !strings.Contains(e.Message, tt.wantMsg) {
				t.Fatalf("message %q does not contain %q", err, tt.wantMsg)
			}
			if strings.Contains(e.Message, "csk_live_") {
				t.Fatalf("message %q shows a token", e.Message)
			}
		})
	}
}

func TestParseReportSizeLimit(t *testing.T) {
	body := []byte(`[` + item + `]` + strings.Repeat(" ", secretscan.MaxReportBytes))
	_, err := secretscan.ParseReport(body)
	var e *secretscan.Error
	if !errors.As(err, &e) || !errors.Is(err, secretscan.ErrMalformedReport) || !strings.Contains(e.Message, "1 MiB") {
		t.Fatalf("err = %v", err)
	}
}

func TestFeedback(t *testing.T) {
	ms := []secretscan.Match{
		{Token: "csk_live_0123456789abcdef0123456789abcdef", Type: "keygate_api_key", URL: "", Source: "content"},
		{Token: "not_a_key", Type: "keygate_api_key", URL: "https://github.com/o/r/blob/1/a", Source: "content"},
		{Token: "csk_live_0123456789abcdef0123456789abcdef", Type: "keygate_api_key", URL: "https://github.com/o/r/blob/1/b", Source: "commit"},
	}
	d := secretscan.Distinct(ms)
	if len(d) != 2 || d[0].Token != ms[0].Token || d[0].URL != "https://github.com/o/r/blob/1/b" || d[1].Token != "not_a_key" {
		t.Fatalf("Distinct = %+v", d)
	}
	fb := []secretscan.Feedback{secretscan.Verdict(d[0], true), secretscan.Verdict(d[1], false)}
	b, err := json.Marshal(fb)
	if err != nil {
		t.Fatal(err)
	}
	// The exact shape of GitHub's partner page: token_raw, token_type, label.
	want := `[{"token_raw":"csk_live_0123456789abcdef0123456789abcdef","token_type":"keygate_api_key","label":"true_positive"},` +
		`{"token_raw":"not_a_key","token_type":"keygate_api_key","label":"false_positive"}]`
	if string(b) != want {
		t.Fatalf("feedback\n got %s\nwant %s", b, want)
	}
}

func ExampleParseReport() {
	ms, err := secretscan.ParseReport([]byte(`[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]`))
	fmt.Println(len(ms), ms[0].Source, err)
	// Output: 1 commit <nil>
}
