// Command keygate-admin is the operator's tool (and the billing system's):
// it sets a user's or workspace's tier, finds the owner of a key prefix,
// shows a key's usage and revokes any key. It works on the table of a
// running `make dev` (--local) and on a deployed one with the operator's AWS
// credentials (--table, or KEYGATE_TABLE, and the usual AWS settings).
//
//	keygate-admin --local set-tier --user alice --tier free
//	keygate-admin --table keygate-prod-Table-XYZ owner csk_live_a1b2c3d4
//	keygate-admin usage --days 7 csk_live_a1b2c3d4
//	keygate-admin revoke csk_live_a1b2c3d4
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/keygate/keygate/local/devfile"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/app"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

const usageText = `keygate-admin: operator commands on keygate's table.

Usage:
  keygate-admin [flags] set-tier (--user SUB | --workspace ID) --tier free|pro|team|enterprise
  keygate-admin [flags] owner PREFIX
  keygate-admin [flags] usage [--days N] PREFIX
  keygate-admin [flags] revoke PREFIX

Flags (before the command):
  --local          use the table of the running 'make dev' (read from .dev/local.json)
  --table NAME     the DynamoDB table (default $KEYGATE_TABLE)
  --endpoint URL   a DynamoDB endpoint (default $KEYGATE_DYNAMODB_ENDPOINT, else AWS's for $AWS_REGION)
  --json           print JSON instead of text

Against AWS, the usual credentials apply (AWS_PROFILE, AWS_REGION, ...): the
operator's role needs GetItem, UpdateItem, PutItem, Query and BatchGetItem on the
table and Query on its byOwner index. Tier caps come from KEYGATE_TIER_CAPS as on
the deployed Lambdas.
`

// settle is how long set-tier waits before its second pass: longer than the
// byOwner index's usual lag.
var settle = 2 * time.Second

// clk is the command's clock: the system's, or a test's (the test stack runs
// on a fixed clock, and "today" must be the same day for both).
var clk clock.Clock = clock.System{}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("keygate-admin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, usageText) }
	local := fs.Bool("local", false, "")
	table := fs.String("table", "", "")
	endpoint := fs.String("endpoint", "", "")
	asJSON := fs.Bool("json", false, "")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() == 0 || fs.Arg(0) == "help" {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	env := map[string]string{}
	if *local {
		l, err := devfile.Read()
		if err != nil {
			fmt.Fprintln(stderr, "keygate-admin:", err)
			return 1
		}
		env[config.EnvTable], env[config.EnvDynamoDBEndpoint] = l.Table, l.Endpoint
	}
	if *table != "" {
		env[config.EnvTable] = *table
	}
	if *endpoint != "" {
		env[config.EnvDynamoDBEndpoint] = *endpoint
	}
	cfg, err := config.LoadStoreFrom(func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return getenv(k)
	})
	if err != nil {
		fmt.Fprintf(stderr, "keygate-admin: %v (or use --local or --table)\n", err)
		return 1
	}
	a, err := app.New(ctx, cfg, slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), clk)
	if err != nil {
		fmt.Fprintln(stderr, "keygate-admin:", err)
		return 1
	}
	o := out{w: stdout, json: *asJSON}
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "set-tier":
		err = setTier(ctx, a, rest, o, stderr)
	case "owner":
		err = withPrefix(rest, stderr, func(p string) error { return owner(ctx, a, p, o) })
	case "usage":
		err = usage(ctx, a, rest, o, stderr)
	case "revoke":
		err = withPrefix(rest, stderr, func(p string) error { return revoke(ctx, a, p, o) })
	default:
		fmt.Fprintf(stderr, "keygate-admin: unknown command %q\n\n%s", cmd, usageText)
		return 2
	}
	var usageErr usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usageErr):
		fmt.Fprintf(stderr, "keygate-admin %s: %v\n", cmd, err)
		return 2
	default:
		var e *apierr.Error
		if errors.As(err, &e) && e.Code != apierr.InternalError && e.Code != apierr.ServiceUnavailable {
			fmt.Fprintf(stderr, "keygate-admin %s: %s\n", cmd, e.Message)
		} else {
			fmt.Fprintf(stderr, "keygate-admin %s: %v\n", cmd, err)
		}
		return 1
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func withPrefix(args []string, stderr io.Writer, f func(string) error) error {
	if len(args) != 1 {
		return usageError{"give exactly one key prefix (csk_live_ and 8 hex), e.g. csk_live_a1b2c3d4"}
	}
	return f(args[0])
}

func setTier(ctx context.Context, a *app.App, args []string, o out, stderr io.Writer) error {
	fs := flag.NewFlagSet("set-tier", flag.ContinueOnError)
	fs.SetOutput(stderr)
	user := fs.String("user", "", "the user's Cognito sub")
	ws := fs.String("workspace", "", "the workspace (team) id")
	tierFlag := fs.String("tier", "", "free, pro, team or enterprise")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() != 0 || (*user == "") == (*ws == "") {
		return usageError{"name exactly one of --user SUB and --workspace ID, and --tier"}
	}
	t := principal.Tier(strings.ToLower(*tierFlag))
	if t != principal.Free && !t.Paid() {
		return usageError{fmt.Sprintf("--tier %q is not free, pro, team or enterprise", *tierFlag)}
	}
	owner := keys.User(*user)
	if *ws != "" {
		if !keys.ValidWorkspaceID(*ws) {
			return usageError{"--workspace must be 1-64 characters from A-Z a-z 0-9 . _ -"}
		}
		owner = keys.Workspace(*ws)
	}
	ch, err := a.Keys.SetTier(ctx, owner, t)
	if err != nil {
		return err
	}
	// Once more after the byOwner index has caught up with any key created
	// a moment ago (idempotent; what the first pass did is what it reports).
	time.Sleep(settle)
	if _, err := a.Keys.SetTier(ctx, owner, t); err != nil {
		return err
	}
	return o.print(map[string]any{"owner": string(owner.Kind) + ":" + owner.ID, "tier": t, "keys": ch.Keys,
		"suspended": ch.Suspended, "restored": ch.Restored, "lowered": ch.Lowered},
		fmt.Sprintf("%s %s is now on tier %s: %d keys, %d budgets suspended, %d restored, %d limits lowered to the tier's cap.",
			owner.Kind, owner.ID, t, ch.Keys, ch.Suspended, ch.Restored, ch.Lowered))
}

// keyView is a key as the operator sees it.
type keyView struct {
	Prefix        string             `json:"prefix"`
	ID            string             `json:"id"`
	OwnerKind     keys.OwnerKind     `json:"ownerKind"`
	Owner         string             `json:"owner"`
	CreatedBy     string             `json:"createdBy"`
	Name          string             `json:"name"`
	Status        keys.Status        `json:"status"`
	Tier          principal.Tier     `json:"tier"`
	DailyLimit    int                `json:"dailyLimit"`
	UsedToday     int                `json:"usedToday"`
	CreatedAt     time.Time          `json:"createdAt"`
	LastUsedAt    *time.Time         `json:"lastUsedAt"`
	ExpiresAt     *time.Time         `json:"expiresAt"`
	RevokedAt     *time.Time         `json:"revokedAt,omitempty"`
	RevokedReason keys.RevokedReason `json:"revokedReason,omitempty"`
	LeakedURL     string             `json:"leakedUrl,omitempty"`
	RotatedFrom   string             `json:"rotatedFrom,omitempty"`
	RotatedTo     string             `json:"rotatedTo,omitempty"`
}

func opt(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func view(k keys.Key) keyView {
	return keyView{
		Prefix: k.Prefix, ID: k.ID, OwnerKind: k.Owner.Kind, Owner: k.Owner.ID, CreatedBy: k.CreatedBy, Name: k.Name,
		Status: k.Status, Tier: k.Tier, DailyLimit: k.DailyLimit, UsedToday: k.UsedToday, CreatedAt: k.CreatedAt,
		LastUsedAt: opt(k.LastUsedAt), ExpiresAt: opt(k.ExpiresAt), RevokedAt: opt(k.RevokedAt),
		RevokedReason: k.RevokedReason, LeakedURL: k.LeakURL, RotatedFrom: k.RotatedFrom, RotatedTo: k.RotatedTo,
	}
}

func (v keyView) text() string {
	when := func(t *time.Time, none string) string {
		if t == nil {
			return none
		}
		return t.UTC().Format(time.RFC3339)
	}
	var b strings.Builder
	row := func(k, v string) { fmt.Fprintf(&b, "%-12s %s\n", k, v) }
	row("prefix", v.Prefix)
	row("id", v.ID)
	row("owner", string(v.OwnerKind)+" "+v.Owner)
	row("created by", v.CreatedBy)
	row("name", v.Name)
	status := string(v.Status)
	if v.RevokedReason != "" {
		status += " (" + string(v.RevokedReason) + ", " + when(v.RevokedAt, "") + ")"
	}
	row("status", status)
	row("tier", string(v.Tier))
	row("daily limit", fmt.Sprintf("%d, used today %d", v.DailyLimit, v.UsedToday))
	row("created", v.CreatedAt.UTC().Format(time.RFC3339))
	row("last used", when(v.LastUsedAt, "never"))
	row("expires", when(v.ExpiresAt, "never"))
	if v.LeakedURL != "" {
		row("leaked at", v.LeakedURL)
	}
	if v.RotatedFrom != "" {
		row("rotated from", v.RotatedFrom)
	}
	if v.RotatedTo != "" {
		row("rotated to", v.RotatedTo)
	}
	return strings.TrimRight(b.String(), "\n")
}

func owner(ctx context.Context, a *app.App, prefix string, o out) error {
	k, err := a.Keys.Lookup(ctx, prefix)
	if err != nil {
		return err
	}
	v := view(k)
	return o.print(v, v.text())
}

func revoke(ctx context.Context, a *app.App, prefix string, o out) error {
	k, err := a.Keys.AdminRevoke(ctx, prefix)
	if err != nil {
		return err
	}
	v := view(k)
	return o.print(v, "revoked (admin); the next request with it is 401.\n"+v.text())
}

func usage(ctx context.Context, a *app.App, args []string, o out, stderr io.Writer) error {
	fs := flag.NewFlagSet("usage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	days := fs.Int("days", 7, "days of history, 1-90")
	if err := fs.Parse(args); err != nil {
		return usageError{err.Error()}
	}
	return withPrefix(fs.Args(), stderr, func(prefix string) error {
		k, err := a.Keys.Lookup(ctx, prefix)
		if err != nil {
			return err
		}
		u, err := a.Usage.ReportKeys(ctx, []keys.Key{k}, *days)
		if err != nil {
			return err
		}
		var b strings.Builder
		ku := u.Keys[0]
		fmt.Fprintf(&b, "%s %q (%s): %d of %d used today (%s), resets %s\n", ku.Prefix, ku.Name, k.Status, ku.Used, ku.DailyLimit,
			u.Date, u.ResetsAt.Format(time.RFC3339))
		for _, d := range ku.History {
			fmt.Fprintf(&b, "  %s %6d\n", d.Date, d.Used)
		}
		return o.print(u, strings.TrimRight(b.String(), "\n"))
	})
}

// out prints a result as text or JSON.
type out struct {
	w    io.Writer
	json bool
}

func (o out) print(v any, text string) error {
	if o.json {
		enc := json.NewEncoder(o.w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	_, err := fmt.Fprintln(o.w, text)
	return err
}
