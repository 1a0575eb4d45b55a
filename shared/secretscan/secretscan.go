// Package secretscan is the receiving end of GitHub's secret scanning partner
// program: it fetches and caches GitHub's published signing keys, verifies the
// ECDSA P-256/SHA-256 signature GitHub puts on each report, parses the report
// (a JSON array of {token, type, url, source}) strictly, and renders the
// feedback GitHub accepts in the response (token_raw, token_type, label). It
// knows nothing about keygate's keys: it tells the caller which strings GitHub
// reported, and the caller decides which of them were true positives.
//
// The formats follow GitHub's "Secret scanning partner program" page
// (docs.github.com/en/code-security/secret-scanning/secret-scanning-partnership-program/secret-scanning-partner-program).
package secretscan

import (
	"errors"
	"fmt"
)

// The request headers GitHub signs its reports with.
const (
	HeaderKeyID     = "Github-Public-Key-Identifier"
	HeaderSignature = "Github-Public-Key-Signature"
)

// The kinds of failure. Every error of this package wraps exactly one of them
// (test with errors.Is) and is an *Error whose Message may be shown to the
// caller.
var (
	// ErrUnauthenticated: the report is not signed by a key GitHub publishes
	// (missing or garbled headers, unknown key identifier, bad signature).
	ErrUnauthenticated = errors.New("report not signed by GitHub")
	// ErrMalformedReport: the signed body is not a report this package
	// accepts (not JSON, wrong shape, too large, too many items).
	ErrMalformedReport = errors.New("malformed secret scanning report")
	// ErrKeysUnavailable: GitHub's key list could not be fetched for a key
	// identifier not seen before, so the signature can be neither accepted
	// nor refused yet.
	ErrKeysUnavailable = errors.New("GitHub's secret scanning keys are unavailable")
)

// Error is a failure with a message for the caller. Message never contains a
// reported token; Cause is detail for the log.
type Error struct {
	Kind    error
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%v: %s: %v", e.Kind, e.Message, e.Cause)
	}
	return fmt.Sprintf("%v: %s", e.Kind, e.Message)
}

// Unwrap makes errors.Is see both the kind and the cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

func unauthenticated(cause error, format string, args ...any) *Error {
	return &Error{Kind: ErrUnauthenticated, Message: fmt.Sprintf(format, args...), Cause: cause}
}

func malformed(format string, args ...any) *Error {
	return &Error{Kind: ErrMalformedReport, Message: fmt.Sprintf(format, args...)}
}

func unavailable(cause error) *Error {
	return &Error{Kind: ErrKeysUnavailable, Message: "GitHub's secret scanning public keys cannot be fetched; retry shortly.", Cause: cause}
}
