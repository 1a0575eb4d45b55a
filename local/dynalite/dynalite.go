// Package dynalite starts dynalite, the open-source DynamoDB-protocol server
// from npm (pinned in tools/package-lock.json), as a child process on
// loopback. Local mode and the test harness use it; nothing here talks to AWS.
package dynalite

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// Server is a running dynalite.
type Server struct {
	Endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
}

// Options for Start.
type Options struct {
	// Dir keeps the data on disk (LevelDB) between runs; empty is in memory.
	Dir string
	// Port to listen on; 0 picks a free one.
	Port int
}

// CLI finds node_modules/dynalite/cli.js under the tools/ folder of the
// repository that contains the working directory.
func CLI() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "tools", "node_modules", "dynalite", "cli.js")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			if _, err := os.Stat(filepath.Join(dir, "tools", "package.json")); err == nil {
				return "", fmt.Errorf("dynalite is not installed in %s: run `make tools` (npm ci in tools/)", filepath.Join(dir, "tools"))
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("tools/node_modules/dynalite not found above the working directory: run `make tools`")
		}
		dir = parent
	}
}

// Start launches dynalite and waits until it accepts connections.
func Start(ctx context.Context, o Options) (*Server, error) {
	cli, err := CLI()
	if err != nil {
		return nil, err
	}
	port := o.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	}
	args := []string{cli, "--host", "127.0.0.1", "--port", strconv.Itoa(port),
		"--createTableMs", "0", "--deleteTableMs", "0", "--updateTableMs", "0"}
	if o.Dir != "" {
		if err := os.MkdirAll(o.Dir, 0o755); err != nil {
			return nil, err
		}
		args = append(args, "--path", o.Dir)
	}
	cmd := exec.Command("node", args...)
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dynalite (is node on PATH?): %w", err)
	}
	s := &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("dynalite exited at start (port %d taken?)", port)
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, errors.New("dynalite did not start within 15s")
		}
	}
}

// Pause stops the process without ending it (SIGSTOP): connections are
// accepted by the kernel and never answered, the way a stalled store looks.
func (s *Server) Pause() error { return s.cmd.Process.Signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() error { return s.cmd.Process.Signal(syscall.SIGCONT) }

// Stop ends the server and waits for it.
func (s *Server) Stop() {
	if s == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGCONT) // a paused server cannot act on the interrupt
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(3 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
