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
	"strconv"
	"syscall"
	"time"

	"github.com/keygate/keygate/local/nodeproc"
)

// Server is a running dynalite.
type Server struct {
	Endpoint string
	proc     *nodeproc.Process
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
func CLI() (string, error) { return nodeproc.Script("dynalite", "cli.js") }

// Start launches dynalite and waits until it accepts connections.
func Start(ctx context.Context, o Options) (*Server, error) {
	cli, err := CLI()
	if err != nil {
		return nil, err
	}
	port := o.Port
	if port == 0 {
		if port, err = nodeproc.FreePort("127.0.0.1"); err != nil {
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
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	proc, err := nodeproc.Start(ctx, "dynalite", cmd, nodeproc.Wait{
		Ready: func() bool {
			c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
			if err != nil {
				return false
			}
			c.Close()
			return true
		},
		Every:    50 * time.Millisecond,
		Within:   15 * time.Second,
		Exited:   func() error { return fmt.Errorf("dynalite exited at start (port %d taken?)", port) },
		TimedOut: func() error { return errors.New("dynalite did not start within 15s") },
	})
	if err != nil {
		return nil, err
	}
	return &Server{Endpoint: "http://127.0.0.1:" + strconv.Itoa(port), proc: proc}, nil
}

// Pause stops the process without ending it (SIGSTOP): connections are
// accepted by the kernel and never answered, the way a stalled store looks.
func (s *Server) Pause() error { return s.proc.Signal(syscall.SIGSTOP) }

// Resume continues a paused server (SIGCONT).
func (s *Server) Resume() error { return s.proc.Signal(syscall.SIGCONT) }

// Stop ends the server and waits for it.
func (s *Server) Stop() {
	if s == nil {
		return
	}
	s.proc.Stop()
}
