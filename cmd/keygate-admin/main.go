// Command keygate-admin is the operator's tool (and the billing system's):
// it sets a user's or workspace's tier, lists an owner's keys, finds the
// owner of a key prefix, shows a key's usage and revokes any key. It works on
// the table of a running `make dev` (--local) and on a deployed one with the
// operator's AWS credentials (--table, or KEYGATE_TABLE, and the usual AWS
// settings).
//
//	keygate-admin --local keys --user pro@example.com
//	keygate-admin --local set-tier --user pro@example.com --tier free
//	keygate-admin --table keygate-prod-Table-XYZ owner csk_live_a1b2c3d4
//	keygate-admin usage --days 7 csk_live_a1b2c3d4
//	keygate-admin revoke csk_live_a1b2c3d4
//	keygate-admin audit --workspace acme --json
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
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/keygate/keygate/local/devfile"
	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/app"
	"github.com/keygate/keygate/shared/audit"
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
  keygate-admin [flags] keys (--user USER | --workspace ID) [--all]
  keygate-admin [flags] set-tier (--user USER | --workspace ID) --tier free|pro|team|enterprise
  keygate-admin [flags] owner PREFIX
  keygate-admin [flags] usage [--days N] PREFIX
  keygate-admin [flags] revoke PREFIX
  keygate-admin [flags] audit (--user USER | --workspace ID | PREFIX) [--limit N] [--cursor C]
  keygate-admin help

USER is a user's sub (the JWT's sub claim; for a user of another trusted
issuer than the first, tag|sub as 'owner' shows it), or with --local a demo
user's email (pro@example.com, alice@example.com, ...). PREFIX is a key's public id,
csk_live_ and 8 hex: 'keys' lists an owner's prefixes (so does the API's
GET /v1/api-keys with the user's token).

Flags (before the command):
  --local          use the table of the running 'make dev' (read from .dev/local.json)
  --table NAME     the DynamoDB table (default $KEYGATE_TABLE)
  --endpoint URL   a DynamoDB endpoint (default $KEYGATE_DYNAMODB_ENDPOINT, else AWS's for $AWS_REGION)
  --json           print JSON instead of text

Against AWS, the usual credentials apply (AWS_PROFILE, AWS_REGION, ...): the
operator's role needs GetItem, UpdateItem, PutItem, Query and BatchGetItem on the
table and Query on its byOwner index. Tier caps come from KEYGATE_TIER_CAPS as on
the deployed Lambdas. The audit records of its changes name the operator as
$KEYGATE_OPERATOR (default: login name@host).
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
	local := fs.Bool("local", false, "")
	table := fs.String("table", "", "")
	endpoint := fs.String("endpoint", "", "")
	asJSON := fs.Bool("json", false, "")
	fs.Usage = func() {}
	switch err := fs.Parse(args); {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usageText)
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "\n%s", usageText)
		return 2
	}
	switch fs.Arg(0) {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usageText)
		return 0
	case "":
		fmt.Fprint(stderr, usageText)
		return 2
	}
	for _, a := range fs.Args()[1:] {
		if a == "-h" || a == "-help" || a == "--help" {
			fmt.Fprint(stdout, usageText)
			return 0
		}
	}
	env := map[string]string{}
	var dev *devfile.Local
	if *local {
		l, err := devfile.Read()
		if err != nil {
			fmt.Fprintln(stderr, "keygate-admin:", err)
			return 1
		}
		dev = &l
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
	ctx = audit.WithActor(ctx, audit.Admin(operator(getenv)))
	cmd, rest := fs.Arg(0), fs.Args()[1:]
	switch cmd {
	case "keys":
		err = listKeys(ctx, a, rest, dev, o)
	case "set-tier":
		err = setTier(ctx, a, rest, dev, o)
	case "owner":
		err = withPrefix(rest, func(p string) error { return owner(ctx, a, p, o) })
	case "usage":
		err = usage(ctx, a, rest, o)
	case "revoke":
		err = withPrefix(rest, func(p string) error { return revoke(ctx, a, p, o) })
	case "audit":
		err = auditLog(ctx, a, rest, dev, o)
	default:
		fmt.Fprintf(stderr, "keygate-admin: unknown command %q\n\n%s", cmd, usageText)
		return 2
	}
	var usageErr usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usageText)
		return 0
	case errors.As(err, &usageErr):
		fmt.Fprintf(stderr, "keygate-admin %s: %v\n", cmd, err)
		return 2
	default:
		var e *apierr.Error
		if errors.As(err, &e) && e.Code != apierr.InternalError && e.Code != apierr.ServiceUnavailable {
			fmt.Fprintf(stderr, "keygate-admin %s: %s\n", cmd, e.Message)
			if e.Code == apierr.NotFound && strings.HasPrefix(e.Message, "No API key") {
				fmt.Fprintf(stderr, "%s\n", listHint(dev))
			}
		} else {
			fmt.Fprintf(stderr, "keygate-admin %s: %v\n", cmd, err)
		}
		return 1
	}
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// prefixPattern is a key's public id.
var prefixPattern = regexp.MustCompile(`^csk_live_[0-9a-f]{8}$`)

func withPrefix(args []string, f func(string) error) error {
	if len(args) != 1 {
		return usageError{"give exactly one key prefix (csk_live_ and 8 hex, e.g. csk_live_a1b2c3d4); 'keys --user USER' lists a user's prefixes"}
	}
	p := args[0]
	if len(p) > 17 && prefixPattern.MatchString(p[:17]) {
		p = p[:17] // a whole key: its prefix is its public part
	}
	if !prefixPattern.MatchString(p) {
		return usageError{fmt.Sprintf("%q is not a key prefix (csk_live_ and 8 lowercase hex); 'keys --user USER' lists a user's prefixes", args[0])}
	}
	return f(p)
}

// listHint says how to find the prefixes that exist.
func listHint(dev *devfile.Local) string {
	who := "SUB"
	if dev != nil && len(dev.Users) > 0 {
		who = dev.Users[0].Email
	}
	local := ""
	if dev != nil {
		local = "--local "
	}
	return fmt.Sprintf("List a user's prefixes with: keygate-admin %skeys --user %s (or GET /v1/api-keys with their token)", local, who)
}

// ownerFlags are the --user and --workspace flags of keys and set-tier.
type ownerFlags struct{ user, ws *string }

func addOwnerFlags(fs *flag.FlagSet) ownerFlags {
	return ownerFlags{
		user: fs.String("user", "", "the user's sub, or with --local a demo user's email"),
		ws:   fs.String("workspace", "", "the workspace (team) id"),
	}
}

// owner resolves the flags to exactly one owner. An email names a demo user
// of make dev's pool (its primary issuer, whose subs are owner ids as they
// are); elsewhere an email cannot be resolved without the pool's admin API,
// so the message shows how to find the sub.
func (f ownerFlags) owner(dev *devfile.Local) (keys.Owner, string, error) {
	if (*f.user == "") == (*f.ws == "") {
		return keys.Owner{}, "", usageError{"name exactly one of --user USER and --workspace ID"}
	}
	if *f.ws != "" {
		// A team id of the first trusted issuer as it is, another
		// issuer's as keygate stores it (tag|id, see principal.Qualify).
		if _, id := principal.Unqualify(*f.ws); !keys.ValidWorkspaceID(id) {
			return keys.Owner{}, "", usageError{"--workspace must be 1-64 characters from A-Z a-z 0-9 . _ - (tag|id for a workspace of another issuer than the first)"}
		}
		return keys.Workspace(*f.ws), "workspace " + *f.ws, nil
	}
	u := *f.user
	if !strings.Contains(u, "@") {
		// A sub of the first trusted issuer, or an owner id as keygate
		// stores it (tag|sub for another issuer: 'owner PREFIX' shows it).
		return keys.User(u), "user " + u, nil
	}
	if dev == nil {
		return keys.Owner{}, "", usageError{fmt.Sprintf("--user %s: an email is resolved only with --local (make dev's demo users); give the sub, e.g.\n"+
			"  aws cognito-idp list-users --user-pool-id \"$POOL\" --filter 'email = \"%s\"' --query 'Users[0].Attributes[?Name==`sub`].Value' --output text", u, u)}
	}
	du, ok := dev.User(u)
	if !ok {
		var known []string
		for _, d := range dev.Users {
			known = append(known, d.Email)
		}
		return keys.Owner{}, "", usageError{fmt.Sprintf("--user %s is not a demo user of make dev (%s); give a sub instead", u, strings.Join(known, ", "))}
	}
	// make dev's demo users live in its first trusted issuer, the pool.
	return keys.User(principal.Qualify("", du.Sub)), fmt.Sprintf("user %s (%s)", du.Email, du.Sub), nil
}

func setTier(ctx context.Context, a *app.App, args []string, dev *devfile.Local, o out) error {
	fs := flag.NewFlagSet("set-tier", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // its errors come back as usage errors
	of := addOwnerFlags(fs)
	tierFlag := fs.String("tier", "", "free, pro, team or enterprise")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() != 0 {
		return usageError{"set-tier takes flags only: (--user USER | --workspace ID) --tier TIER"}
	}
	owner, who, err := of.owner(dev)
	if err != nil {
		return err
	}
	t := principal.Tier(strings.ToLower(*tierFlag))
	if t != principal.Free && !t.Paid() {
		return usageError{fmt.Sprintf("--tier %q is not free, pro, team or enterprise", *tierFlag)}
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
	// A budget is a key's daily count, shared by a rotated key and its
	// successor; revoked and expired keys keep theirs, so the counts differ.
	return o.print(map[string]any{"owner": string(owner.Kind) + ":" + owner.ID, "tier": t, "keys": ch.Keys, "liveKeys": ch.Live,
		"suspended": ch.Suspended, "restored": ch.Restored, "lowered": ch.Lowered},
		fmt.Sprintf("%s is now on tier %s: %s (%d not revoked or expired), %s suspended, %s restored, %s lowered to the tier's cap.",
			who, t, count(ch.Keys, "key", "keys"), ch.Live, count(ch.Suspended, "budget", "budgets"),
			count(ch.Restored, "budget", "budgets"), count(ch.Lowered, "limit", "limits")))
}

// flagError turns a sub-command's flag error into a usage error, or help.
func flagError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err.Error()}
}

// count is n with the noun in the right number: "1 key", "0 keys", "2 keys".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

func listKeys(ctx context.Context, a *app.App, args []string, dev *devfile.Local, o out) error {
	fs := flag.NewFlagSet("keys", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // its errors come back as usage errors
	of := addOwnerFlags(fs)
	all := fs.Bool("all", false, "also revoked and expired keys")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	if fs.NArg() != 0 {
		return usageError{"keys takes flags only: (--user USER | --workspace ID) [--all]"}
	}
	owner, who, err := of.owner(dev)
	if err != nil {
		return err
	}
	ks, err := a.Keys.List(ctx, owner, keys.All)
	if err != nil {
		return err
	}
	views := []keyView{}
	var b strings.Builder
	for _, k := range ks {
		if !*all && (k.Status == keys.Revoked || k.Status == keys.Expired) {
			continue
		}
		v := view(k)
		views = append(views, v)
		fmt.Fprintf(&b, "  %s  %-9s %d of %d used today  %q\n", v.Prefix, v.Status, v.UsedToday, v.DailyLimit, v.Name)
	}
	which := "live"
	if *all {
		which = "all"
	}
	head := fmt.Sprintf("%s has %s (%s, newest first)", who, count(len(views), "key", "keys"), which)
	if len(views) > 0 {
		head += ":\n" + b.String()
	}
	return o.print(views, strings.TrimRight(head, "\n"))
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

func usage(ctx context.Context, a *app.App, args []string, o out) error {
	fs := flag.NewFlagSet("usage", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // its errors come back as usage errors
	days := fs.Int("days", 7, "days of history, 1-90")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	return withPrefix(fs.Args(), func(prefix string) error {
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
