// Package lambdainvoke serves the Lambda Invoke API path
// (POST /2015-03-31/functions/{name}/invocations) for Go handlers running in
// this process, so that local emulators which call Lambda triggers (for
// cognito-local, the pre-token-generation trigger) run keygate's real trigger
// code. Handlers are wrapped by aws-lambda-go's lambda.NewHandler, the same
// reflection that decodes events and encodes answers in a deployed function.
// Local mode only; it checks no signature.
package lambdainvoke

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Functions serves named handlers.
type Functions struct {
	Handlers map[string]lambda.Handler
	Log      *slog.Logger
	n        atomic.Int64
}

// New serves each handler (any signature lambda.Start accepts) by its name.
func New(handlers map[string]any, log *slog.Logger) *Functions {
	f := &Functions{Handlers: map[string]lambda.Handler{}, Log: log}
	if f.Log == nil {
		f.Log = slog.Default()
	}
	for name, h := range handlers {
		f.Handlers[name] = lambda.NewHandler(h)
	}
	return f
}

// Invocations is how many invocations were served.
func (f *Functions) Invocations() int64 { return f.n.Load() }

const prefix = "/2015-03-31/functions/"

// ServeHTTP answers as the Lambda service does for RequestResponse
// invocations: the function's answer as the body with status 200, or, when
// the function fails, status 200 with X-Amz-Function-Error: Unhandled and
// {"errorMessage", "errorType"}.
func (f *Functions) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name, ok := strings.CutPrefix(r.URL.Path, prefix)
	name, ok2 := strings.CutSuffix(name, "/invocations")
	if !ok || !ok2 || r.Method != http.MethodPost {
		serviceError(w, http.StatusNotFound, "ResourceNotFoundException", "No such path: "+r.Method+" "+r.URL.Path)
		return
	}
	// A function may be named by its ARN; its last segment is the name.
	if i := strings.LastIndexByte(name, ':'); i >= 0 {
		name = name[i+1:]
	}
	h, found := f.Handlers[name]
	if !found {
		serviceError(w, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+name)
		return
	}
	if t := r.Header.Get("X-Amz-Invocation-Type"); t != "" && t != "RequestResponse" {
		serviceError(w, http.StatusBadRequest, "InvalidParameterValueException", "Only RequestResponse invocations are served locally")
		return
	}
	payload, err := io.ReadAll(io.LimitReader(r.Body, 6<<20))
	if err != nil {
		serviceError(w, http.StatusBadRequest, "InvalidRequestContentException", "Could not read the payload")
		return
	}
	id := fmt.Sprintf("local-%d", f.n.Add(1))
	ctx := lambdacontext.NewContext(r.Context(), &lambdacontext.LambdaContext{AwsRequestID: id})
	out, err := invoke(ctx, h, payload)
	w.Header().Set("Content-Type", "application/json")
	w.Header()["X-Amz-Executed-Version"] = []string{"$LATEST"}
	if err != nil {
		f.Log.WarnContext(ctx, "local function failed", "function", name, "requestId", id, "error", err)
		w.Header()["X-Amz-Function-Error"] = []string{"Unhandled"}
		b, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": fmt.Sprintf("%T", err)})
		_, _ = w.Write(b)
		return
	}
	f.Log.DebugContext(ctx, "local function invoked", "function", name, "requestId", id)
	_, _ = w.Write(out)
}

func invoke(ctx context.Context, h lambda.Handler, payload []byte) (out []byte, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panic: %v", v)
		}
	}()
	return h.Invoke(ctx, payload)
}

// serviceError is an error of the Lambda service itself (not of a function),
// shaped as the AWS SDKs read it.
func serviceError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header()["X-Amzn-ErrorType"] = []string{typ}
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"Type": "User", "Message": msg})
	_, _ = w.Write(b)
}
