package reports_test

import (
	"errors"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExampleImportsOnlyThePublicSurface: the example product's code (every
// non-test package under examples/reports) imports the standard library,
// aws-lambda-go, keygate's guard package and the dependency-free route
// declarations (which its CDK app reads too), and its own packages; nothing
// of keygate's internals (shared/..., internal/..., local/...). The CDK app
// (cdk/, its own module) is the product's infrastructure, not its code.
func TestExampleImportsOnlyThePublicSurface(t *testing.T) {
	allowed := func(imp string) bool {
		first, _, _ := strings.Cut(imp, "/")
		switch {
		case !strings.Contains(first, "."): // the standard library
			return true
		case imp == "github.com/aws/aws-lambda-go" || strings.HasPrefix(imp, "github.com/aws/aws-lambda-go/"):
			return true
		case imp == "github.com/keygate/keygate/guard", imp == "github.com/keygate/keygate/route":
			return true
		case strings.HasPrefix(imp, "github.com/keygate/keygate/examples/reports"):
			return true
		}
		return false
	}
	// go/build reads the sources in this process, so the test cache knows
	// them: an edit that adds an import reruns the test.
	pkgs := 0
	err := filepath.WalkDir(".", func(dir string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		// The CDK app (cdk/) is a module of its own: infrastructure code on
		// keygate's construct, not the product's Lambda code.
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil && dir != "." {
			return filepath.SkipDir
		}
		pkg, err := build.Default.ImportDir(dir, 0)
		var none *build.NoGoError
		if errors.As(err, &none) {
			return nil
		}
		if err != nil {
			return err
		}
		pkgs++
		for _, imp := range pkg.Imports {
			if !allowed(imp) {
				t.Errorf("%s imports %s: product code may use only the standard library, aws-lambda-go and keygate's guard and route packages", "examples/reports/"+dir, imp)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if pkgs < 3 {
		t.Fatalf("read %d packages, want the declaration, the API and the Lambda's main", pkgs)
	}
}
