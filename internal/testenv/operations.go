package testenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/lambdacontext"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/smithy-go/middleware"
)

// Operations is every AWS call a deployed function's code made in this test
// binary, by function: what an IAM role must grant. Stack records into it
// (and any client given Operations.APIOption), attributing each call to the
// function named by the invocation's context, as the local gateway sets it
// (lambdacontext's InvokedFunctionArn, local/gateway.FunctionArn). Calls made
// outside an invocation (a test's own setup, keygate-admin) are not a
// function's and are not recorded.
var Operations = &OperationLog{}

// EnvUpdateOperations, set to 1, makes CheckOperations rewrite the file from
// this run instead of checking it.
const EnvUpdateOperations = "KEYGATE_UPDATE_OPERATIONS"

// OperationLog records (function, IAM action, resource).
type OperationLog struct {
	mu  sync.Mutex
	ops OperationSet
}

// OperationSet is function → resource → IAM actions, each list sorted and
// without repeats: the shape of the committed file. Resources are "table"
// (keygate's table) and "index/<name>" (one of its indexes) for DynamoDB.
type OperationSet map[string]map[string][]string

// add records one operation; false if it was known.
func (s OperationSet) add(function, resource, action string) bool {
	if s[function] == nil {
		s[function] = map[string][]string{}
	}
	actions := s[function][resource]
	i, found := slices.BinarySearch(actions, action)
	if found {
		return false
	}
	s[function][resource] = slices.Insert(actions, i, action)
	return true
}

func (s OperationSet) has(function, resource, action string) bool {
	_, found := slices.BinarySearch(s[function][resource], action)
	return found
}

// each calls fn for every operation, in a stable order.
func (s OperationSet) each(fn func(function, resource, action string)) {
	for _, f := range slices.Sorted(maps.Keys(s)) {
		for _, r := range slices.Sorted(maps.Keys(s[f])) {
			for _, a := range s[f][r] {
				fn(f, r, a)
			}
		}
	}
}

// Recorded returns a copy of what was recorded so far.
func (l *OperationLog) Recorded() OperationSet {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := OperationSet{}
	l.ops.each(func(f, r, a string) { out.add(f, r, a) })
	return out
}

func (l *OperationLog) record(function, resource, action string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ops == nil {
		l.ops = OperationSet{}
	}
	l.ops.add(function, resource, action)
}

// DynamoDBOption installs the recorder on a DynamoDB client.
func (l *OperationLog) DynamoDBOption() func(*dynamodb.Options) {
	return func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, l.APIOption) }
}

// APIOption installs the recorder on any AWS SDK client (its options'
// APIOptions). A client of a service other than DynamoDB records the
// resource its input names where resourceOf knows the input, else "*".
func (l *OperationLog) APIOption(s *middleware.Stack) error {
	return s.Initialize.Add(middleware.InitializeMiddlewareFunc("keygateOperations",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			if fn := invokedFunction(ctx); fn != "" {
				service := awsmiddleware.GetServiceID(ctx)
				l.record(fn, resourceOf(service, in.Parameters), iamAction(service, awsmiddleware.GetOperationName(ctx)))
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

// invokedFunction is the name in the context's invoked function ARN
// (arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]), or "".
func invokedFunction(ctx context.Context) string {
	lc, ok := lambdacontext.FromContext(ctx)
	if !ok {
		return ""
	}
	_, name, ok := strings.Cut(lc.InvokedFunctionArn, ":function:")
	if !ok {
		return ""
	}
	name, _, _ = strings.Cut(name, ":")
	return name
}

// iamPrefix is the IAM service prefix of an SDK service id, where the two
// differ beyond case and spaces.
var iamPrefix = map[string]string{
	"EventBridge":     "events",
	"CloudWatch":      "cloudwatch",
	"CloudWatch Logs": "logs",
}

func iamAction(serviceID, operation string) string {
	prefix, ok := iamPrefix[serviceID]
	if !ok {
		prefix = strings.ToLower(strings.ReplaceAll(serviceID, " ", ""))
	}
	return prefix + ":" + operation
}

// resourceOf names what an operation's input touches: for DynamoDB the
// table, or the index a Query or Scan reads (keygate has one table); for
// EventBridge the audit bus. Another service's resources get named here when
// a function starts calling it.
func resourceOf(serviceID string, input any) string {
	if serviceID == "EventBridge" {
		return "bus" // keygate's audit event bus, the one bus it puts events on
	}
	if serviceID != "DynamoDB" {
		return "*"
	}
	index := func(name *string) string {
		if name == nil {
			return "table"
		}
		return "index/" + *name
	}
	switch in := input.(type) {
	case *dynamodb.QueryInput:
		return index(in.IndexName)
	case *dynamodb.ScanInput:
		return index(in.IndexName)
	}
	return "table"
}

// operationsFile is the committed file's shape.
type operationsFile struct {
	About     string       `json:"about"`
	Functions OperationSet `json:"functions"`
}

const operationsAbout = "Every AWS call each Lambda's code made in the e2e suite (function -> resource -> IAM actions), " +
	"recorded through the local gateway by internal/testenv. The e2e tests fail when the code makes a call this file lacks; " +
	"infra/stack's TestGrantsMatchBehaviour fails when a role lacks one of these grants or holds one not listed here " +
	"(unless the test justifies it). Regenerate with KEYGATE_UPDATE_OPERATIONS=1 go test ./e2e/ (the whole package)."

// CheckOperations is for a TestMain (Main's after function): it compares
// what the run recorded with the committed file at path. A call the file
// lacks fails the run, whatever tests ran. A listed call no test made fails
// only a whole, passing run (no -run, -skip or -short), which made every
// call the suite can make. With KEYGATE_UPDATE_OPERATIONS=1 a whole, passing
// run rewrites the file instead.
func CheckOperations(path string) func(code int) int {
	return func(code int) int {
		got := Operations.Recorded()
		whole := code == 0 && wholeRun()
		if os.Getenv(EnvUpdateOperations) == "1" {
			if !whole {
				fmt.Fprintf(os.Stderr, "%s=1 rewrites %s only from a whole, passing run of the package (no -run, -skip or -short)\n", EnvUpdateOperations, path)
				return 1
			}
			if err := writeOperations(path, got); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			fmt.Fprintf(os.Stderr, "wrote %s\n", path)
			return code
		}
		want, err := readOperations(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		var missing, stale []string
		got.each(func(f, r, a string) {
			if !want.has(f, r, a) {
				missing = append(missing, fmt.Sprintf("%s: %s on %s", f, a, r))
			}
		})
		if whole {
			want.each(func(f, r, a string) {
				if !got.has(f, r, a) {
					stale = append(stale, fmt.Sprintf("%s: %s on %s", f, a, r))
				}
			})
		}
		if len(missing) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: the functions made AWS calls %s does not list, so nothing proves their roles grant them:\n  %s\n"+
				"Add them (%s=1 go test ./e2e/ rewrites the file) and grant them in infra/stack.\n",
				path, strings.Join(missing, "\n  "), EnvUpdateOperations)
			code = 1
		}
		if len(stale) > 0 {
			fmt.Fprintf(os.Stderr, "FAIL: %s lists AWS calls no test made:\n  %s\n"+
				"Remove them (%s=1 go test ./e2e/ rewrites the file) and their grants in infra/stack, or add a test that makes them.\n",
				path, strings.Join(stale, "\n  "), EnvUpdateOperations)
			code = 1
		}
		return code
	}
}

// wholeRun reports whether no flag narrowed the tests that ran.
func wholeRun() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	f := flag.Lookup("test.short")
	return f == nil || f.Value.String() != "true"
}

func readOperations(path string) (OperationSet, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no %s: run %s=1 go test ./e2e/ to record it", path, EnvUpdateOperations)
	} else if err != nil {
		return nil, err
	}
	var f operationsFile
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if f.Functions == nil {
		f.Functions = OperationSet{}
	}
	return f.Functions, nil
}

// writeOperations writes the set as stable, sorted, indented JSON.
func writeOperations(path string, ops OperationSet) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(operationsFile{About: operationsAbout, Functions: ops}); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}
