package browser

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"

	"github.com/keygate/keygate/local/webapp"
)

// TestWireTypesFollowTheDocument: the console's types come from
// docs/openapi.yaml (console/typegen, openapi-typescript), so a change to a
// key object in the document fails the console's type check until the
// console handles it. The console's sources are checked in a temporary
// copy against types generated from edited copies of the document; the
// unedited document must pass, so each failure is the edit's.
func TestWireTypesFollowTheDocument(t *testing.T) {
	dist, err := webapp.ConsoleDir()
	if err != nil {
		unavailable(t, err)
	}
	consoleDir := filepath.Dir(dist)
	node, err := exec.LookPath("node")
	if err != nil {
		unavailable(t, err)
	}
	tsc := filepath.Join(consoleDir, "node_modules", ".bin", "tsc")
	generate := filepath.Join(consoleDir, "typegen", "generate.mjs")
	for _, p := range []string{tsc, filepath.Join(consoleDir, "typegen", "node_modules", "openapi-typescript")} {
		if _, err := os.Stat(p); err != nil {
			unavailable(t, err)
		}
	}
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(consoleDir), "docs", "openapi.yaml"))
	if err != nil {
		t.Fatal(err)
	}

	// typecheck generates the types from doc into a copy of the console's
	// sources and runs tsc on it, returning tsc's output and whether it passed.
	typecheck := func(t *testing.T, doc map[string]any) (string, bool) {
		t.Helper()
		dir := t.TempDir()
		copyTree(t, filepath.Join(consoleDir, "src"), filepath.Join(dir, "src"), "generated")
		for _, f := range []string{"tsconfig.json"} {
			b, err := os.ReadFile(filepath.Join(consoleDir, f))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(filepath.Join(consoleDir, "node_modules"), filepath.Join(dir, "node_modules")); err != nil {
			t.Fatal(err)
		}
		docPath := filepath.Join(dir, "openapi.json")
		b, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(docPath, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(node, generate, docPath, filepath.Join(dir, "src", "generated", "openapi.ts")).CombinedOutput(); err != nil {
			t.Fatalf("generate: %v\n%s", err, out)
		}
		cmd := exec.Command(tsc, "--noEmit", "-p", dir)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		return string(out), err == nil
	}

	// load parses the document afresh; edit changes a key object's properties.
	load := func(t *testing.T) map[string]any {
		t.Helper()
		var doc map[string]any
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		return doc
	}
	props := func(doc map[string]any, schema string) map[string]any {
		return doc["components"].(map[string]any)["schemas"].(map[string]any)[schema].(map[string]any)["properties"].(map[string]any)
	}

	t.Run("the document as it is type-checks", func(t *testing.T) {
		if out, ok := typecheck(t, load(t)); !ok {
			t.Fatalf("tsc failed on the unedited document:\n%s", out)
		}
	})

	for _, c := range []struct {
		name, schema string
		edit         func(p map[string]any)
		want         []string // in tsc's output
	}{
		{"a renamed field of the /v1 key", "Key", func(p map[string]any) {
			p["leakUrl"] = p["leakedUrl"]
			delete(p, "leakedUrl")
		}, []string{"leakedUrl", "leakUrl"}},
		{"a renamed field of the workspace key", "WorkspaceKey", func(p map[string]any) {
			p["creator"] = p["created_by"]
			delete(p, "created_by")
		}, []string{"created_by", "creator"}},
		{"a field added to the workspace key", "WorkspaceKey", func(p map[string]any) {
			p["note"] = map[string]any{"type": "string"}
		}, []string{"note"}},
		{"a removed field of a created key", "CreatedKey", func(p map[string]any) {
			delete(p, "expiresAt")
		}, []string{"expiresAt"}},
	} {
		t.Run(c.name+" fails tsc", func(t *testing.T) {
			doc := load(t)
			c.edit(props(doc, c.schema))
			out, ok := typecheck(t, doc)
			if ok {
				t.Fatalf("tsc passed with %s", c.name)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("tsc's errors do not name %q:\n%s", w, out)
				}
			}
			t.Logf("tsc:\n%s", out)
		})
	}
}

// copyTree copies the files under src into dst, leaving out the directories named skip.
func copyTree(t *testing.T, src, dst, skip string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			if d.Name() == skip && p != src {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
