package browser

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keygate/keygate/local/webapp"
)

// bundleBudget is the most the console may weigh, gzipped: every file a
// browser loads to show it (index.html, the script, the stylesheet).
const bundleBudget = 150 << 10

func TestConsoleBundleBudget(t *testing.T) {
	dir, err := webapp.ConsoleDir()
	if err != nil {
		unavailable(t, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	total, raw := 0, 0
	var parts []string
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".js") && !strings.HasSuffix(name, ".css") && !strings.HasSuffix(name, ".html") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(b)
		_ = zw.Close()
		total += buf.Len()
		raw += len(b)
		parts = append(parts, fmt.Sprintf("%s %.1f KB", name, float64(buf.Len())/1024))
	}
	if total == 0 {
		t.Fatalf("no script, stylesheet or page in %s", dir)
	}
	t.Logf("console bundle: %.1f KB gzipped (%.1f KB raw): %s", float64(total)/1024, float64(raw)/1024, strings.Join(parts, ", "))
	if total > bundleBudget {
		t.Errorf("console bundle is %d bytes gzipped, over the %d-byte budget", total, bundleBudget)
	}
}
