package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/keygate/keygate/local/devfile"
	"github.com/keygate/keygate/local/devgithub"
	"github.com/keygate/keygate/shared/apikey"
)

const usage = `Usage:
  keygate-dev                          run keygate locally (make dev)
  keygate-dev report-leak <key> [url]  send the running make dev a leak report for <key>, signed
                                       as GitHub signs one, as if GitHub had found it at url
`

// defaultLeakURL is where the drill says the key was found.
const defaultLeakURL = "https://github.com/keygate-dev/leak-drill/blob/main/.env"

// reportLeak sends the make dev running in this repository (.dev/local.json)
// a secret scanning report for args[0], signed with the key of its stand-in
// for GitHub's key list, and says what keygate answered.
func reportLeak(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) < 1 || len(args) > 2 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, usage)
		return 2
	}
	token, url := args[0], defaultLeakURL
	if len(args) == 2 {
		url = args[1]
	}
	l, err := devfile.Read()
	if err != nil {
		fmt.Fprintln(stderr, "keygate-dev report-leak:", err)
		return 1
	}
	if l.GitHubKeyFile == "" || l.API == "" {
		fmt.Fprintln(stderr, "keygate-dev report-leak: this make dev checks reports against the key list KEYGATE_GITHUB_KEYS_URL names, whose signing key it does not hold; unset the variable and restart make dev to drill leak reports locally.")
		return 1
	}
	signer, err := devgithub.Load(l.GitHubKeyFile)
	if err != nil {
		fmt.Fprintln(stderr, "keygate-dev report-leak:", err, "(restart make dev)")
		return 1
	}
	if signer.ID != l.GitHubKeyID {
		fmt.Fprintln(stderr, "keygate-dev report-leak: the signing key does not match the running make dev; restart it")
		return 1
	}
	body, err := devgithub.Report(devgithub.Match{Token: token, Type: devgithub.TokenType, URL: url, Source: "content"})
	if err != nil {
		fmt.Fprintln(stderr, "keygate-dev report-leak:", err)
		return 1
	}
	status, answer, err := signer.Send(ctx, &http.Client{Timeout: 15 * time.Second}, l.API, body)
	if err != nil {
		fmt.Fprintf(stderr, "keygate-dev report-leak: %s: %v (is make dev running?)\n", l.API, err)
		return 1
	}
	shown := token
	if k, err := apikey.Parse(token); err == nil {
		shown = k.Prefix() + "…" // the key's public id; the secret is not printed back
	}
	if status != http.StatusOK {
		fmt.Fprintf(stderr, "keygate-dev report-leak: %s answered %d: %s\n", l.API+devgithub.ReportPath, status, strings.TrimSpace(string(answer)))
		return 1
	}
	var labels []struct {
		Label string `json:"label"`
	}
	if err := json.Unmarshal(answer, &labels); err != nil || len(labels) != 1 {
		fmt.Fprintf(stderr, "keygate-dev report-leak: unexpected answer %s\n", strings.TrimSpace(string(answer)))
		return 1
	}
	switch labels[0].Label {
	case "true_positive":
		fmt.Fprintf(stdout, "true_positive: %s was a live key; keygate revoked it (revokedReason \"leaked\", leakedUrl %s),\nor only flagged it if KEYGATE_LEAKED_KEY_ACTION=flag. The owner sees it in their key list.\n", shown, url)
	default:
		fmt.Fprintf(stdout, "%s: %s is not a live key of this make dev (unknown, revoked or expired); nothing changed.\n", labels[0].Label, shown)
	}
	return 0
}
