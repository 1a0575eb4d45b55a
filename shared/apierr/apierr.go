// Package apierr is keygate's one error type: a public code and a message a
// person can act on, with the internal cause kept for the log only. Status is
// the single place where codes become HTTP statuses.
package apierr

import (
	"errors"
	"fmt"
	"net/http"
)

// Code is a public error code of the contract.
type Code string

const (
	BadRequest         Code = "BadRequest"
	Unauthorized       Code = "Unauthorized"
	Forbidden          Code = "Forbidden"
	NotFound           Code = "NotFound"
	Conflict           Code = "Conflict"
	RateLimitExceeded  Code = "RateLimitExceeded"
	InternalError      Code = "InternalError"
	ServiceUnavailable Code = "ServiceUnavailable"

	// Made only by the gateway, before or instead of any function: a body
	// over API Gateway's 10 MB limit, a media type it does not take, a
	// function that did not answer within its 29 s.
	PayloadTooLarge      Code = "PayloadTooLarge"
	UnsupportedMediaType Code = "UnsupportedMediaType"
	GatewayTimeout       Code = "GatewayTimeout"
)

// Status maps a code to its HTTP status.
func Status(c Code) int {
	switch c {
	case BadRequest:
		return http.StatusBadRequest
	case Unauthorized:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Conflict:
		return http.StatusConflict
	case RateLimitExceeded:
		return http.StatusTooManyRequests
	case ServiceUnavailable:
		return http.StatusServiceUnavailable
	case PayloadTooLarge:
		return http.StatusRequestEntityTooLarge
	case UnsupportedMediaType:
		return http.StatusUnsupportedMediaType
	case GatewayTimeout:
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}

// Error is an error a client may see. Cause never reaches the client.
type Error struct {
	Code    Code
	Message string
	Cause   error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Cause }

// New returns an error with a public code and message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Unavailable wraps a store failure: the client sees 503.
func Unavailable(cause error) *Error {
	return &Error{Code: ServiceUnavailable, Message: "The service is temporarily unavailable; retry shortly.", Cause: cause}
}

// Internal wraps a bug: the client sees 500 and the cause goes to the log.
func Internal(cause error) *Error {
	return &Error{Code: InternalError, Message: "Internal error; it has been logged with the request id.", Cause: cause}
}

// From returns err as an *Error; anything that is not one is internal.
func From(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return Internal(err)
}

// Envelope is the JSON body of every error response.
type Envelope struct {
	Success bool `json:"success"`
	Error   Body `json:"error"`
}

// Body is the error part of the envelope.
type Body struct {
	Code    Code   `json:"code"`
	Message string `json:"message"`
}

// Envelope returns the response body for e.
func (e *Error) Envelope() Envelope {
	return Envelope{Error: Body{Code: e.Code, Message: e.Message}}
}
