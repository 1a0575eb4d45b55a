package devfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteRead(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	want := Local{Endpoint: "http://127.0.0.1:4567", Table: "keygate-local"}
	if err := Write(want); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, Path))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"endpoint":"http://127.0.0.1:4567","table":"keygate-local"}` {
		t.Fatalf("file is %s", got)
	}
	t.Run("read from a directory below", func(t *testing.T) {
		t.Chdir(filepath.Join(root, ".dev"))
		if got, err := Read(); err != nil || got != want {
			t.Fatalf("Read() = %+v, %v; want %+v", got, err, want)
		}
	})
	t.Run("an incomplete file is unreadable", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(root, Path), []byte(`{"table":"t"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(); err == nil || !strings.HasSuffix(err.Error(), "is unreadable; restart make dev") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestReadNone(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Read()
	if err == nil || err.Error() != "no .dev/local.json here or above: is make dev running (in this repository)?" {
		t.Fatalf("err = %v", err)
	}
}
