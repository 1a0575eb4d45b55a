package app

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
)

func TestLevelHandler(t *testing.T) {
	var buf bytes.Buffer
	base := slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	log := slog.New(levelHandler{Handler: base, min: ParseLevel("warn")})
	log.Info("dropped")
	log.With("k", "v").Warn("kept")
	if got := buf.String(); bytes.Contains([]byte(got), []byte("dropped")) || !bytes.Contains([]byte(got), []byte("kept")) {
		t.Fatalf("%s", got)
	}
	if !log.Handler().Enabled(context.Background(), slog.LevelError) || log.Handler().Enabled(context.Background(), slog.LevelInfo) {
		t.Fatal("Enabled does not follow the level")
	}
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "DEBUG": slog.LevelDebug, "error": slog.LevelError, "bogus": slog.LevelInfo} {
		if got := ParseLevel(in); got != want {
			t.Fatalf("ParseLevel(%q) = %v", in, got)
		}
	}
}
