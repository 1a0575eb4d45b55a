package secretscan_test

import (
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/keygate/keygate/shared/secretscan"
)

var update = flag.Bool("update", false, "rewrite the README's secret scanning pattern block from pattern.go")

func TestPatternExamples(t *testing.T) {
	for _, ex := range secretscan.PatternExamples {
		t.Run(ex.Why, func(t *testing.T) {
			if got := secretscan.FindKeys(ex.Text); !slices.Equal(got, ex.Want) {
				t.Fatalf("FindKeys(%q) = %q, want %q", ex.Text, got, ex.Want)
			}
		})
	}
}

// The three-part form and the one-regex form agree, and everything the
// pattern finds is a key the contract's format admits.
func TestPatternParts(t *testing.T) {
	secret := regexp.MustCompile(`\A` + secretscan.PatternSecret + `\z`)
	contract := regexp.MustCompile(`^csk_live_[0-9a-f]{32}$`)
	for _, ex := range secretscan.PatternExamples {
		for _, k := range secretscan.FindKeys(ex.Text) {
			if !secret.MatchString(k) || !contract.MatchString(k) || len(k) != 41 {
				t.Errorf("%q found in %q is not a key", k, ex.Text)
			}
		}
	}
}

const (
	readmeBegin = "<!-- secretscan-pattern:begin -->"
	readmeEnd   = "<!-- secretscan-pattern:end -->"
)

// readmeBlock renders the README's pattern block from pattern.go.
func readmeBlock() string {
	var b strings.Builder
	b.WriteString(readmeBegin + "\n")
	b.WriteString("<!-- generated from shared/secretscan/pattern.go: go test ./shared/secretscan -run TestPatternREADME -update -->\n")
	b.WriteString("```text\n")
	fmt.Fprintf(&b, "secret format  %s\n", secretscan.PatternSecret)
	fmt.Fprintf(&b, "before secret  %s\n", secretscan.PatternBefore)
	fmt.Fprintf(&b, "after secret   %s\n", secretscan.PatternAfter)
	fmt.Fprintf(&b, "as one regex   %s   (group 1 is the key)\n", secretscan.Pattern)
	b.WriteString("```\n\n")
	b.WriteString("| text scanned (Go string syntax) | GitHub must report | why |\n| --- | --- | --- |\n")
	for _, ex := range secretscan.PatternExamples {
		want := "nothing"
		if len(ex.Want) > 0 {
			want = "`" + strings.Join(ex.Want, "`, `") + "`"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", strconv.Quote(ex.Text), want, ex.Why)
	}
	b.WriteString(readmeEnd)
	return b.String()
}

func TestPatternREADME(t *testing.T) {
	const path = "../../README.md"
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	i, j := strings.Index(readme, readmeBegin), strings.Index(readme, readmeEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md has no %s ... %s block", readmeBegin, readmeEnd)
	}
	got, want := readme[i:j+len(readmeEnd)], readmeBlock()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme[:i]+want+readme[j+len(readmeEnd):]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's pattern block is not the one pattern.go gives; run\n  go test ./shared/secretscan -run TestPatternREADME -update\nwant:\n%s", want)
}
