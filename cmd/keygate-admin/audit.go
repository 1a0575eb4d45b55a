package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"sort"
	"strings"
	"time"

	"github.com/keygate/keygate/local/devfile"
	"github.com/keygate/keygate/shared/app"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/keys"
)

// envOperator names the operator in the records of this command's changes
// (default: the login name).
const envOperator = "KEYGATE_OPERATOR"

// operator is who runs the command, as its audit records name the admin.
func operator(getenv func(string) string) string {
	if op := getenv(envOperator); op != "" {
		return op
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		host, _ := os.Hostname()
		if host != "" {
			return u.Username + "@" + host
		}
		return u.Username
	}
	return ""
}

// auditLog prints an owner's audit log, or one key's, newest first.
func auditLog(ctx context.Context, a *app.App, args []string, dev *devfile.Local, o out) error {
	fs := flag.NewFlagSet("audit", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // its errors come back as usage errors
	of := addOwnerFlags(fs)
	limit := fs.Int("limit", audit.DefaultLimit, "records per page, 1-100")
	cursor := fs.String("cursor", "", "the nextCursor of the previous page")
	if err := fs.Parse(args); err != nil {
		return flagError(err)
	}
	q := audit.Query{Limit: *limit, Cursor: *cursor}
	var owner keys.Owner
	switch {
	case fs.NArg() > 0 && (*of.user != "" || *of.ws != ""), fs.NArg() > 1:
		return usageError{"name exactly one of --user USER, --workspace ID and a key prefix"}
	case fs.NArg() == 1:
		err := withPrefix(fs.Args(), func(p string) error {
			k, err := a.Keys.Lookup(ctx, p)
			owner, q.KeyPrefix = k.Owner, k.Prefix
			return err
		})
		if err != nil {
			return err
		}
	default:
		var err error
		if owner, _, err = of.owner(dev); err != nil {
			return err
		}
	}
	page, err := a.Audit.List(ctx, owner.Audit(), q)
	if err != nil {
		return err
	}
	events := page.Records
	if events == nil {
		events = []audit.Record{}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "audit log of %s %s", owner.Kind, owner.ID)
	if q.KeyPrefix != "" {
		fmt.Fprintf(&b, ", key %s", q.KeyPrefix)
	}
	fmt.Fprintf(&b, " (newest first, %d shown)\n", len(events))
	for _, r := range events {
		b.WriteString(auditLine(r) + "\n")
	}
	if page.Next != "" {
		fmt.Fprintf(&b, "more: --cursor %s\n", page.Next)
	}
	return o.print(map[string]any{"owner": string(owner.Kind) + ":" + owner.ID, "events": events, "nextCursor": optionalString(page.Next)},
		strings.TrimRight(b.String(), "\n"))
}

func optionalString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// auditLine is one record for a person: when, what, which key, who, from
// where, what changed.
func auditLine(r audit.Record) string {
	var b strings.Builder
	b.WriteString(r.Time.UTC().Format(time.RFC3339) + " " + string(r.Action))
	if r.Key != nil {
		fmt.Fprintf(&b, " %s %q", r.Key.Prefix, r.Key.Name)
	}
	b.WriteString(" by " + string(r.Actor.Type))
	if r.Actor.ID != nil {
		b.WriteString(" " + *r.Actor.ID)
	}
	if r.SourceIP != nil {
		b.WriteString(" from " + *r.SourceIP)
	}
	fields := make([]string, 0, len(r.Changes))
	for f := range r.Changes {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for i, f := range fields {
		sep := ": "
		if i > 0 {
			sep = ", "
		}
		c := r.Changes[f]
		fmt.Fprintf(&b, "%s%s %s → %s", sep, f, value(c.From), value(c.To))
	}
	if r.Reason != "" {
		b.WriteString(" (reason " + r.Reason + ")")
	}
	return b.String()
}

func value(v any) string {
	switch x := v.(type) {
	case nil:
		return "none"
	case string:
		return x
	case []any:
		parts := make([]string, len(x))
		for i, p := range x {
			parts[i] = value(p)
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v)
}
