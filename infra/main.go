// Command infra is the CDK app that deploys keygate. The CDK CLI builds and
// runs it from cdk.json at the repository root (`make synth`, `make deploy`),
// as build/cdk-app/keygate-infra with the root as working directory; settings come
// from CDK context (cdk.json defaults, `-c key=value` overrides), the Lambda
// binaries from build/ (`make build`) or KEYGATE_BUILD_DIR, and the built web
// console from console/dist (`make console`) or KEYGATE_CONSOLE_DIR; both
// directories are relative to the repository root unless absolute.
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/keygate/keygate/infra/stack"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "keygate infra:", err)
		jsii.Close()
		os.Exit(1)
	}
	jsii.Close()
}

func run() error {
	root, err := findRoot()
	if err != nil {
		return err
	}
	buildDir := dirSetting(root, "KEYGATE_BUILD_DIR", "build")
	consoleDir := dirSetting(root, "KEYGATE_CONSOLE_DIR", filepath.Join("console", "dist"))
	// cdk.json runs the app from the repository root, where the CLI is: the
	// CLI passes CDK_OUTDIR, CDK_ERROR_FILE and CDK_PERF_COUNTERS_FILE
	// relative to it, and the jsii runtime (started when the CDK packages
	// initialise, before main) inherits this working directory to resolve
	// them. Run from elsewhere, only CDK_OUTDIR can still be fixed here.
	var outdir *string
	if dir := os.Getenv("CDK_OUTDIR"); dir != "" && !filepath.IsAbs(dir) {
		outdir = jsii.String(filepath.Join(root, dir))
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: outdir})
	settings, err := stack.SettingsFromContext(app.Node())
	if err != nil {
		return err
	}
	// Environment-agnostic on purpose: nothing here looks up the account, and
	// the CLI sets no account offline (an empty Account panics).
	if _, err := stack.New(app, "Keygate-"+settings.Stage, stack.Props{Settings: settings, BuildDir: buildDir, ConsoleDir: consoleDir}); err != nil {
		return err
	}
	// Findings are errors or warnings on the synthesized stack; `cdk synth`
	// fails on any unsuppressed error.
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return synth(app)
}

// synth turns the panic with which the jsii runtime reports a failed
// synthesis (with cdk.json's flags, any error annotation: a cdk-nag error)
// into an error; the findings themselves are already printed above it.
func synth(app awscdk.App) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("synthesis failed: %v", r)
		}
	}()
	app.Synth(nil)
	return nil
}

// dirSetting is the directory named by the environment variable, or def;
// relative to the repository root unless absolute.
func dirSetting(root, variable, def string) string {
	dir := os.Getenv(variable)
	if dir == "" {
		dir = def
	}
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(root, dir)
	}
	return dir
}

// findRoot is the nearest directory at or above the working directory that
// holds cdk.json: the repository root, where the CLI runs.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find cdk.json: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "cdk.json")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no cdk.json at or above the working directory: run from the repository (make synth)")
		}
		dir = parent
	}
}
