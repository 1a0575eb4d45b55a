package webapp

import (
	"context"
	"fmt"
	"strings"

	"github.com/keygate/keygate/local/devstack"
	"github.com/keygate/keygate/shared/config"
)

// Intro is what make dev prints once everything is up: where each part is,
// who can sign in, tokens of two demo users for curl (the same identities the
// console signs in as, so a key made in the terminal shows in the browser),
// and copy-paste lines. Every command line in it works as pasted in bash, zsh
// or sh: no <placeholders> a shell would read as redirections, no trailing
// comments (zsh does not take them at its prompt by default).
//
// A token it cannot get (cognito-local refusing the sign-in) is named in its
// place; the /token?user= line gets another.
func (s *Stack) Intro(ctx context.Context) string {
	api := s.API
	cfg := api.App.Config
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("\nkeygate is running locally.\n\n")
	p("  Web console          %s\n", s.ConsoleURL)
	p("  API (local gateway)  %s\n", api.URL)
	p("  OpenAPI document     %s%s (docs/API.md to read)\n", api.URL, devstack.OpenAPIPath)
	if product := cfg.Routes; len(product) > 0 {
		p("  Example product      %s (examples/reports: a product route costs its units, POST 5)\n", product.Summary())
	}
	store := "dynalite " + cfg.DynamoDBEndpoint
	if api.Dynalite == nil {
		store = cfg.DynamoDBEndpoint
		if store == "" {
			store = "AWS DynamoDB"
		}
	}
	p("  DynamoDB             %s, table %s\n", store, cfg.Table)
	if s.Cognito != nil {
		p("  Cognito              cognito-local %s, pool %s, client %s\n", s.Cognito.Endpoint, s.Pool.ID, s.Pool.ClientID)
	}
	for i, iss := range cfg.Issuers {
		var role []string
		if i == 0 && len(cfg.Issuers) > 1 {
			role = append(role, "first: its subs are owner ids as they are")
		}
		switch {
		case s.Cognito != nil && iss == s.Pool.Issuer:
			role = append(role, "the demo users' pool")
		case api.Issuer != nil && iss == api.Issuer.URL:
			role = append(role, "the dev issuer's made-up users, /token?sub=")
		}
		note := ""
		if len(role) > 0 {
			note = "  (" + strings.Join(role, "; ") + ")"
		}
		p("  Trusted issuer       %s%s\n", iss, note)
	}
	p("\n")

	if len(s.Users) > 0 {
		p("Sign in to the console at %s as one of (password %s for all):\n\n", s.ConsoleURL, DemoPassword)
		for _, u := range s.Users {
			p("  %-20s %s\n", u.Email, u.Role)
		}
		p("\n")
	}

	pro, team := s.tourUsers()
	switch {
	case api.Issuer == nil:
		p("Tokens come from your issuer (%s=%s); sign in there and export TOKEN.\n\n", config.EnvIssuer, cfg.Issuer())
	case pro.Email == "":
		p("No demo users; tokens of made-up users come from the dev issuer:\n\n")
		p("  export TOKEN=$(curl -s '%s/token?sub=dev-user&tier=pro')\n\n", api.Issuer.URL)
	default:
		p("The same users in the terminal: their ID tokens from cognito-local (valid 1 h), so a key made with curl\n")
		p("shows in the console, and keygate-admin --user takes their emails.\n\n")
		export := func(name string, u DemoUser) {
			tok, err := s.UserToken(ctx, u.Email, "id")
			if err != nil {
				p("  %s: no token (%v)\n\n", u.Email, err)
				return
			}
			p("  %s, %s:\n  export %s=%s\n\n", u.Email, u.Role, name, tok)
		}
		export("TOKEN", pro)
		if team.Email != "" {
			export("TEAM_TOKEN", team)
		}
		p("A fresh token after the hour, for any demo user:\n\n")
		p("  export TOKEN=$(curl -s '%s/token?user=%s')\n\n", api.Issuer.URL, pro.Email)
	}
	b.WriteString(TryIt(api.URL))
	if team.TeamID != "" {
		b.WriteString(WorkspaceTour(api.URL, team.Email, team.TeamID))
	}
	who := "SUB"
	if pro.Email != "" {
		who = pro.Email
	}
	p("Operators (keygate-admin; set-tier, usage, revoke: see the README):\n\n")
	p("  go run ./cmd/keygate-admin --local keys --user %s\n", who)
	p("  go run ./cmd/keygate-admin --local owner \"$PREFIX\"\n\n")
	if api.GitHub != nil {
		p("Leaked keys: GitHub's key list is stood in for at %s;\n", cfg.GitHubKeysURL)
		p("send a report signed as GitHub signs one:  go run ./cmd/keygate-dev report-leak \"$KEY\"\n\n")
	}
	p("Ctrl-C stops everything.\n")
	return b.String()
}

// tourUsers picks the demo users the printed tokens are for: the first Pro
// user, and the first member of a team workspace.
func (s *Stack) tourUsers() (pro, team DemoUser) {
	for _, u := range s.Users {
		if pro.Email == "" && u.Tier == "pro" {
			pro = u
		}
		if team.Email == "" && u.TeamID != "" && (u.Tier == "team" || u.Tier == "enterprise") {
			team = u
		}
	}
	return pro, team
}

// TryIt is the copy-paste tour of the /v1 surface, with $TOKEN.
func TryIt(u string) string {
	return "Try it, each line as pasted (the first answer's \"key\" is shown only once: put it in the export KEY= line):\n\n" +
		"  curl -s -X POST " + u + "/v1/api-keys -H \"Authorization: Bearer $TOKEN\" -H 'Content-Type: application/json' -d '{\"name\":\"CI Pipeline\",\"dailyLimit\":1000}'\n" +
		"  export KEY=csk_live_...\n" +
		"  PREFIX=$(printf %.17s \"$KEY\")\n" +
		"  curl -si " + u + "/v1/usage -H \"Authorization: Bearer $KEY\"\n" +
		"  curl -si -X POST " + u + "/v1/reports -H \"Authorization: Bearer $KEY\" -d '{\"title\":\"First report\"}'\n" +
		"  curl -s " + u + "/v1/reports -H \"Authorization: Bearer $KEY\"\n" +
		"  curl -s " + u + "/v1/scopes -H \"Authorization: Bearer $KEY\"\n" +
		"  curl -s " + u + "/v1/api-keys -H \"Authorization: Bearer $TOKEN\"\n" +
		"  curl -s -X PATCH " + u + "/v1/api-keys/$PREFIX -H \"Authorization: Bearer $TOKEN\" -d '{\"dailyLimit\":100}'\n" +
		"  curl -s -X POST " + u + "/v1/api-keys/$PREFIX/rotate -H \"Authorization: Bearer $TOKEN\" -d '{\"gracePeriodSeconds\":60}'\n" +
		"  curl -s -X DELETE " + u + "/v1/api-keys/$PREFIX -H \"Authorization: Bearer $TOKEN\"\n" +
		"  curl -s " + u + "/v1/audit-log -H \"Authorization: Bearer $TOKEN\"\n\n"
}

// WorkspaceTour is the copy-paste tour of a team workspace, with
// $TEAM_TOKEN of a member.
func WorkspaceTour(u, member, workspace string) string {
	ws := u + "/api/v1/workspaces/" + workspace + "/api-keys"
	return "The workspace " + workspace + ", as " + member + " (the console shows its keys to every member):\n\n" +
		"  curl -s -X POST " + ws + " -H \"Authorization: Bearer $TEAM_TOKEN\" -H 'Content-Type: application/json' -d '{\"name\":\"CI/CD Pipeline Key\"}'\n" +
		"  curl -s " + ws + " -H \"Authorization: Bearer $TEAM_TOKEN\"\n\n"
}
