package app

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/keygate/keygate/shared/config"
)

// LambdaLogger is a Lambda's logger: lambdacontext's handler (JSON with the
// request id, in Lambda's log format) filtered at KEYGATE_LOG_LEVEL. The
// stack leaves the Lambda application log level at INFO (DEBUG for debug),
// because Lambda drops JSON lines without a level below it, and the metrics'
// EMF lines carry none: the level of keygate's own lines is chosen here.
func LambdaLogger() *slog.Logger {
	return slog.New(levelHandler{Handler: lambdacontext.NewLogHandler(), min: ParseLevel(os.Getenv(config.EnvLogLevel))})
}

// ParseLevel reads debug, info, warn or error (default info).
func ParseLevel(s string) slog.Level {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

type levelHandler struct {
	slog.Handler
	min slog.Level
}

func (h levelHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.min && h.Handler.Enabled(ctx, l)
}

func (h levelHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return levelHandler{Handler: h.Handler.WithAttrs(a), min: h.min}
}

func (h levelHandler) WithGroup(name string) slog.Handler {
	return levelHandler{Handler: h.Handler.WithGroup(name), min: h.min}
}
