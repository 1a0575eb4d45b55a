package devstack

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Servers are the local HTTP servers a stack started; Close shuts them all down.
type Servers struct {
	list []*http.Server
}

// Listen serves h on addr ("127.0.0.1:0" picks a port) and returns its URL.
func (ss *Servers) Listen(addr string, h http.Handler) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	ss.Serve(l, h)
	return "http://" + l.Addr().String(), nil
}

// Serve serves h on a listener the caller opened.
func (ss *Servers) Serve(l net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ss.list = append(ss.list, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			slog.Error("local server stopped", "addr", l.Addr().String(), "error", err)
		}
	}()
}

// Close shuts the servers down, each within two seconds.
func (ss *Servers) Close() {
	for _, srv := range ss.list {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(ctx)
		cancel()
	}
}
