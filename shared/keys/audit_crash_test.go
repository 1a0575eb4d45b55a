package keys_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/dynamo"
	"github.com/keygate/keygate/shared/keys"
)

// The crash test's child process reads these.
const (
	crashMode   = "KEYGATE_AUDIT_CRASH_MODE"
	crashTable  = "KEYGATE_AUDIT_CRASH_TABLE"
	crashPrefix = "KEYGATE_AUDIT_CRASH_PREFIX"
)

// Exit codes of the child: it died where it was told to.
const (
	diedAfterChange  = 3
	diedBeforeChange = 4
)

// TestAuditRecordSurvivesCrash kills a process between a change and its
// record: the test binary runs itself again as a child that writes the
// intent, makes the change on the shared table, and exits in the commit
// hook (os.Exit: no deferred code, no flush, like a Lambda killed at its
// timeout). The parent then shows the record: not while a request could
// still be running, and then, once due, through the reader or the sweep,
// with exactly the change that committed. A child that dies before its
// change leaves no record.
func TestAuditRecordSurvivesCrash(t *testing.T) {
	if mode := os.Getenv(crashMode); mode != "" {
		crashChild(t, mode)
		return
	}
	cases := []struct {
		mode     string
		exit     int
		resolve  string // "reader" or "sweep"
		want     string // action of the record; "" none
		changes  audit.Changes
		keyCheck func(t *testing.T, r keys.Record, b keys.Budget)
	}{
		{mode: "update", exit: diedAfterChange, resolve: "reader", want: "key.updated",
			changes: audit.Changes{"dailyLimit": {From: 250, To: 5}, "name": {From: "CI Pipeline", To: "CI"}},
			keyCheck: func(t *testing.T, r keys.Record, b keys.Budget) {
				if b.Limit != 5 || r.Name != "CI" {
					t.Fatalf("the child's change did not commit: limit %d, name %q", b.Limit, r.Name)
				}
			}},
		{mode: "revoke", exit: diedAfterChange, resolve: "sweep", want: "key.revoked",
			keyCheck: func(t *testing.T, r keys.Record, _ keys.Budget) {
				if r.Status != keys.Revoked {
					t.Fatal("the child's revocation did not commit")
				}
			}},
		{mode: "update-before-change", exit: diedBeforeChange, resolve: "sweep"},
	}
	for _, c := range cases {
		t.Run(c.mode, func(t *testing.T) {
			store := testenv.Store(t)
			rig := rigOn(store, clock.NewFixed(auditStart))
			k := rig.create(t, "CI Pipeline")

			cmd := exec.Command(os.Args[0], "-test.run=^TestAuditRecordSurvivesCrash$", "-test.count=1")
			cmd.Env = append(os.Environ(), crashMode+"="+c.mode, crashTable+"="+store.Table, crashPrefix+"="+k.Prefix,
				testenv.EnvEndpoint+"="+testenv.Endpoint(t))
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != c.exit {
				t.Fatalf("child ended with %v, want exit %d:\n%s", err, c.exit, out)
			}

			ctx := context.Background()
			r, err := store.GetKey(ctx, k.Prefix)
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := store.ReadBudget(ctx, r.Budget)
			if err != nil {
				t.Fatal(err)
			}
			if c.keyCheck != nil {
				c.keyCheck(t, r, b)
			}
			if got := rig.list(t, keys.User("alice"), audit.Query{}); len(got.Records) != 0 {
				t.Fatalf("shown while its request could still be running: %+v", got.Records)
			}

			rig.clk.Advance(audit.DefaultSettle + time.Second)
			if c.resolve == "sweep" {
				if _, err := rig.log.Sweep(ctx); err != nil {
					t.Fatal(err)
				}
			}
			got := rig.list(t, keys.User("alice"), audit.Query{})
			if c.want == "" {
				if len(got.Records) != 0 || len(rig.events()) != 0 {
					t.Fatalf("a change that never happened got a record: %+v", got.Records)
				}
				return
			}
			if len(got.Records) != 1 {
				t.Fatalf("records %+v, want one %s", got.Records, c.want)
			}
			rec := got.Records[0]
			if string(rec.Action) != c.want || rec.Actor.Type != audit.ByUser || *rec.Actor.ID != "alice" ||
				rec.SourceIP == nil || *rec.SourceIP != "203.0.113.9" || rec.Key.Prefix != k.Prefix {
				t.Fatalf("record %+v", rec)
			}
			if c.changes != nil && !audit.Same(rec.Changes, c.changes) {
				t.Fatalf("changes %v, want %v", rec.Changes, c.changes)
			}
			if ev := rig.events(); len(ev) != 1 || ev[0].ID != rec.ID {
				t.Fatalf("published %+v", ev)
			}
		})
	}
}

// crashChild is the process that dies: it works on the parent's table
// through its own client, as another Lambda would.
func crashChild(t *testing.T, mode string) {
	ctx := context.Background()
	db, err := dynamo.NewClient(ctx, os.Getenv(testenv.EnvEndpoint))
	if err != nil {
		t.Fatal(err)
	}
	rig := rigOn(dynamo.New(db, os.Getenv(crashTable)), clock.NewFixed(auditStart))
	rig.log.BeforeCommit = func(audit.Record) { os.Exit(diedAfterChange) }
	prefix := os.Getenv(crashPrefix)
	owner := keys.User("alice")
	ctx = requestCtx("alice")
	switch mode {
	case "update", "update-before-change":
		pend := rig.beginUpdate(ctx, t, prefix, keys.KeyChange{Name: ptr("CI"), DailyLimit: 5})
		if mode == "update-before-change" {
			os.Exit(diedBeforeChange)
		}
		if _, err := rig.svc.Update(ctx, alice, owner, keys.Ref{Prefix: prefix}, keys.UpdateInput{Name: ptr("CI"), DailyLimit: ptr(5)}); err != nil {
			t.Fatal(err)
		}
		_ = pend.Commit(ctx, nil)
	case "revoke":
		r, err := rig.store.GetKey(ctx, prefix)
		if err != nil {
			t.Fatal(err)
		}
		pend, err := rig.log.Begin(ctx, audit.Event{Action: audit.KeyRevoked, Owner: owner.Audit(), Key: keys.AuditKey(r),
			Reason: string(keys.ByOwner), Changes: audit.Changes{"status": {From: "active", To: "revoked"}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := rig.svc.Revoke(ctx, alice, owner, keys.Ref{Prefix: prefix}); err != nil {
			t.Fatal(err)
		}
		_ = pend.Commit(ctx, nil)
	}
	t.Fatal("the child outlived its commit hook")
}
