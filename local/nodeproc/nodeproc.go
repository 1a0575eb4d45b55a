// Package nodeproc runs the Node tools local mode needs (dynalite,
// cognito-local; pinned in tools/package-lock.json) as child processes: it
// finds a tool's script under tools/node_modules, starts it and waits until
// it is ready, and stops it.
package nodeproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/keygate/keygate/local/workdir"
)

// Script finds tools/node_modules/<pkg>/<rel> in the repository that contains
// the working directory.
func Script(pkg, rel string) (string, error) {
	script := func(dir string) string { return filepath.Join(dir, "tools", "node_modules", pkg, rel) }
	dir, err := workdir.FindUp(func(dir string) bool {
		return workdir.Exists(script(dir)) ||
			workdir.Exists(filepath.Join(dir, "go.mod")) && workdir.Exists(filepath.Join(dir, "tools", "package.json"))
	})
	switch {
	case errors.Is(err, workdir.ErrNotFound):
		return "", fmt.Errorf("tools/node_modules/%s not found above the working directory: run `make tools`", pkg)
	case err != nil:
		return "", err
	case !workdir.Exists(script(dir)):
		return "", fmt.Errorf("%s is not installed in %s: run `make tools` (npm ci in tools/)", pkg, filepath.Join(dir, "tools"))
	}
	return script(dir), nil
}

// Wait says when a started process is ready and what Start returns when it
// does not get there.
type Wait struct {
	Ready    func() bool   // polled until true
	Every    time.Duration // between polls
	Within   time.Duration // how long Start waits before it gives up
	Exited   func() error  // Start's error when the process ends first
	TimedOut func() error  // Start's error after Within (the process stopped)
}

// Process is a running child process.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// Start starts cmd, named name in its error, and polls w.Ready until it is
// true, the process ends, ctx ends or w.Within passes; in the last two
// cases the process is stopped.
func Start(ctx context.Context, name string, cmd *exec.Cmd, w Wait) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (is node on PATH?): %w", name, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(w.Within)
	for {
		if w.Ready() {
			return p, nil
		}
		select {
		case <-p.done:
			return nil, w.Exited()
		case <-ctx.Done():
			p.Stop()
			return nil, ctx.Err()
		case <-time.After(w.Every):
		}
		if time.Now().After(deadline) {
			p.Stop()
			return nil, w.TimedOut()
		}
	}
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Stop interrupts the process, kills it if it has not ended 3 s later, and
// waits for it.
func (p *Process) Stop() {
	if p == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGCONT) // a paused process cannot act on the interrupt
	_ = p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// FreePort is a TCP port on host that was free a moment ago.
func FreePort(host string) (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
