package nodeproc

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestStart(t *testing.T) {
	errExited, errTimedOut := errors.New("exited"), errors.New("timed out")
	wait := func(ready func() bool) Wait {
		return Wait{Ready: ready, Every: 10 * time.Millisecond, Within: 300 * time.Millisecond,
			Exited: func() error { return errExited }, TimedOut: func() error { return errTimedOut }}
	}
	never := func() bool { return false }
	t.Run("ready is a running process that Stop ends", func(t *testing.T) {
		p, err := Start(context.Background(), "sleep", exec.Command("sleep", "30"), wait(func() bool { return true }))
		if err != nil {
			t.Fatal(err)
		}
		p.Stop()
		select {
		case <-p.done:
		default:
			t.Fatal("Stop returned before the process ended")
		}
	})
	t.Run("a process that ends first is the Exited error", func(t *testing.T) {
		if _, err := Start(context.Background(), "true", exec.Command("true"), wait(never)); !errors.Is(err, errExited) {
			t.Fatalf("err = %v, want the Exited error", err)
		}
	})
	t.Run("never ready is the TimedOut error", func(t *testing.T) {
		if _, err := Start(context.Background(), "sleep", exec.Command("sleep", "30"), wait(never)); !errors.Is(err, errTimedOut) {
			t.Fatalf("err = %v, want the TimedOut error", err)
		}
	})
	t.Run("a cancelled context is its error", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Start(ctx, "sleep", exec.Command("sleep", "30"), wait(never)); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("a command that cannot start names the tool", func(t *testing.T) {
		_, err := Start(context.Background(), "dynalite", exec.Command("/nonexistent/node"), wait(never))
		if err == nil || !strings.HasPrefix(err.Error(), "start dynalite (is node on PATH?): ") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestScriptNotFound(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Script("dynalite", "cli.js")
	if err == nil || err.Error() != "tools/node_modules/dynalite not found above the working directory: run `make tools`" {
		t.Fatalf("err = %v", err)
	}
}
