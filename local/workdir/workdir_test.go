package workdir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestFindUp(t *testing.T) {
	root := t.TempDir()
	deep := filepath.Join(root, "a", "b")
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "a", "marker"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(deep)
	t.Run("the nearest directory that matches", func(t *testing.T) {
		var seen []string
		dir, err := FindUp(func(d string) bool {
			seen = append(seen, d)
			return Exists(filepath.Join(d, "marker"))
		})
		if err != nil {
			t.Fatal(err)
		}
		want, _ := filepath.EvalSymlinks(filepath.Join(root, "a"))
		if got, _ := filepath.EvalSymlinks(dir); got != want {
			t.Fatalf("found %s, want %s", dir, want)
		}
		if len(seen) != 2 {
			t.Fatalf("looked in %v, want the working directory then its parent", seen)
		}
	})
	t.Run("no match up to the root is ErrNotFound", func(t *testing.T) {
		if _, err := FindUp(func(string) bool { return false }); !errors.Is(err, ErrNotFound) {
			t.Fatalf("err = %v, want ErrNotFound", err)
		}
	})
}
