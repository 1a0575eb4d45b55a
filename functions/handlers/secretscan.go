package handlers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"unicode"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/lambdahttp"
	"github.com/keygate/keygate/shared/secretscan"
)

// LeakReporter acts on one string GitHub found in public code (the key
// service does).
type LeakReporter interface {
	// ReportLeak revokes (or, when the deployment says so, only flags) the live
	// key tok, recording url; true when tok is a live keygate key (a true
	// positive). Idempotent.
	ReportLeak(ctx context.Context, tok, url string) (truePositive bool, err error)
}

// ReportOpener verifies and parses GitHub's signed reports
// (secretscan.Verifier does).
type ReportOpener interface {
	Open(ctx context.Context, keyID, signature string, body []byte) ([]secretscan.Match, error)
}

// leakConcurrency bounds the ReportLeak calls of one report in flight at once:
// a report of many live keys finishes in a fraction of the Lambda's timeout
// without a burst the table would throttle.
const leakConcurrency = 8

// maxLeakURLLen is the longest reported URL recorded on a key; GitHub's blob
// URLs are far shorter, and a key item stays small.
const maxLeakURLLen = 2048

// SecretScan is POST /v1/secret-scanning/github, GitHub's secret scanning
// partner endpoint. It has no bearer authorizer: the request counts only if
// GitHub's signature verifies (401 otherwise; 503 when GitHub's key list
// cannot be fetched for a key identifier not seen before). Each distinct
// reported string is handed to the key service once, and the answer is
// GitHub's feedback format, a bare JSON array labelling each string
// true_positive or false_positive. Nothing else about a key is said.
func SecretScan(reports ReportOpener, leaks LeakReporter, log *slog.Logger) lambdahttp.Handler {
	if log == nil {
		log = slog.Default()
	}
	return func(ctx context.Context, r *lambdahttp.Request) (lambdahttp.Response, error) {
		keyID, _ := r.Header(secretscan.HeaderKeyID)
		signature, _ := r.Header(secretscan.HeaderSignature)
		all, err := reports.Open(ctx, keyID, signature, r.Body)
		if err != nil {
			return lambdahttp.Response{}, scanError(err)
		}
		ms := secretscan.Distinct(all)
		live, err := reportLeaks(ctx, leaks, ms)
		if err != nil {
			return lambdahttp.Response{}, err
		}
		out := make([]secretscan.Feedback, len(ms))
		n := 0
		for i, m := range ms {
			out[i] = secretscan.Verdict(m, live[i])
			if live[i] {
				n++
			}
		}
		log.InfoContext(ctx, "secret scanning report", "requestId", r.RequestID, "items", len(all), "distinct", len(ms), "truePositives", n)
		return lambdahttp.Response{Status: http.StatusOK, Data: out, Bare: true}, nil
	}
}

// scanError maps secretscan's failures to the contract's statuses.
func scanError(err error) error {
	var e *secretscan.Error
	if !errors.As(err, &e) {
		return apierr.Internal(fmt.Errorf("open secret scanning report: %w", err))
	}
	switch {
	case errors.Is(err, secretscan.ErrUnauthenticated):
		return &apierr.Error{Code: apierr.Unauthorized, Message: e.Message, Cause: err}
	case errors.Is(err, secretscan.ErrMalformedReport):
		return &apierr.Error{Code: apierr.BadRequest, Message: e.Message, Cause: err}
	case errors.Is(err, secretscan.ErrKeysUnavailable):
		return apierr.Unavailable(err)
	default:
		return apierr.Internal(err)
	}
}

// reportLeaks asks the key service about each match, leakConcurrency at a
// time; the first failure stops the rest and fails the report, which GitHub
// then sends again (ReportLeak is idempotent). Errors never carry a token.
func reportLeaks(ctx context.Context, leaks LeakReporter, ms []secretscan.Match) ([]bool, error) {
	// GitHub acts: the audit log's key.leaked and key.revoked name it.
	ctx, cancel := context.WithCancel(audit.WithActor(ctx, audit.GitHub()))
	defer cancel()
	var (
		live = make([]bool, len(ms))
		errs = make([]error, len(ms))
		sem  = make(chan struct{}, leakConcurrency)
		wg   sync.WaitGroup
	)
launch:
	for i, m := range ms {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			break launch
		}
		wg.Go(func() {
			defer func() {
				// The adapter's recover does not reach this goroutine.
				if v := recover(); v != nil {
					errs[i] = apierr.Internal(fmt.Errorf("report leak of item %d: panic: %v", i, v))
					cancel()
				}
				<-sem
			}()
			tp, err := leaks.ReportLeak(ctx, m.Token, leakURL(m.URL))
			if err != nil {
				errs[i] = fmt.Errorf("report leak of item %d: %w", i, err)
				cancel()
				return
			}
			live[i] = tp
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil { // the request's own deadline, before any failure
		return nil, apierr.Unavailable(fmt.Errorf("report leaks: %w", err))
	}
	return live, nil
}

// leakURL is the reported URL if it is one worth showing a key's owner: an
// absolute https URL of printable characters, at most maxLeakURLLen bytes.
// Anything else is recorded as no URL (GitHub's url may be empty anyway).
func leakURL(s string) string {
	if len(s) > maxLeakURLLen || !strings.HasPrefix(s, "https://") {
		return ""
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || r == ' ' {
			return ""
		}
	}
	if u, err := url.Parse(s); err != nil || u.Host == "" {
		return ""
	}
	return s
}
