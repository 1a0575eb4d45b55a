package lambdainvoke_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/keygate/keygate/local/lambdainvoke"
)

func TestInvoke(t *testing.T) {
	type in struct{ Name string }
	fns := lambdainvoke.New(map[string]any{
		"hello": func(_ context.Context, e in) (map[string]string, error) { return map[string]string{"hi": e.Name}, nil },
		"fails": func(context.Context, in) (string, error) { return "", errors.New("no such user") },
		"boom":  func(context.Context, in) (string, error) { panic("bug") },
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(fns)
	defer srv.Close()
	tests := []struct {
		name, path, body string
		status           int
		funcErr          string
		want             string
	}{
		{"answer of the function", "/2015-03-31/functions/hello/invocations", `{"Name":"ann"}`, 200, "", `{"hi":"ann"}`},
		{"named by ARN", "/2015-03-31/functions/arn:aws:lambda:local:000000000000:function:hello/invocations", `{"Name":"bo"}`, 200, "", `{"hi":"bo"}`},
		{"function error is 200 with X-Amz-Function-Error", "/2015-03-31/functions/fails/invocations", `{}`, 200, "Unhandled", `"errorMessage":"no such user"`},
		{"panic is a function error too", "/2015-03-31/functions/boom/invocations", `{}`, 200, "Unhandled", `"errorMessage"`},
		{"unknown function", "/2015-03-31/functions/nope/invocations", `{}`, 404, "", "ResourceNotFoundException"},
		{"not the invoke path", "/2015-03-31/functions/hello", `{}`, 404, "", "ResourceNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Post(srv.URL+tt.path, "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || resp.Header.Get("X-Amz-Function-Error") != tt.funcErr || !strings.Contains(string(b)+" "+resp.Header.Get("X-Amzn-ErrorType"), tt.want) {
				t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("X-Amz-Function-Error"), b)
			}
		})
	}
	if n := fns.Invocations(); n != 4 {
		t.Errorf("Invocations() = %d, want 4", n)
	}
}
