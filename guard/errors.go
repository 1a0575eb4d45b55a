package guard

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"unicode/utf8"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/lambdahttp"
)

// Code is an error code of keygate's contract; each has one HTTP status.
type Code string

// The contract's error codes and their statuses.
const (
	BadRequest         Code = "BadRequest"         // 400
	Unauthorized       Code = "Unauthorized"       // 401
	Forbidden          Code = "Forbidden"          // 403
	NotFound           Code = "NotFound"           // 404
	Conflict           Code = "Conflict"           // 409
	RateLimitExceeded  Code = "RateLimitExceeded"  // 429
	InternalError      Code = "InternalError"      // 500
	ServiceUnavailable Code = "ServiceUnavailable" // 503
)

// Errorf is a failure the client sees: the error envelope
// {"success": false, "error": {"code": code, "message": ...}} with the
// code's status. Write the message for a person who can act on it, naming
// the field or parameter at fault. A code that is not one of the constants
// is InternalError.
func Errorf(code Code, format string, args ...any) error {
	c := apierr.Code(code)
	if apierr.Status(c) == http.StatusInternalServerError {
		c = apierr.InternalError
	}
	return apierr.New(c, format, args...)
}

// DecodeJSON reads a JSON object body into v, a pointer to a struct, as
// strictly as keygate's own routes: member names match the json tags
// exactly, a name may appear once, and an empty body, malformed JSON,
// trailing data, an unknown member or a wrong type is a BadRequest error
// that names the field (return it, or pass it to WriteError). A body that is
// not valid UTF-8 is refused too, never read with replacement characters.
func DecodeJSON(body []byte, v any) error {
	if !utf8.Valid(body) {
		return apierr.New(apierr.BadRequest, "The request body is not valid UTF-8 (at byte %d); send JSON in UTF-8.", invalidUTF8At(body))
	}
	return lambdahttp.DecodeJSON(body, v)
}

// invalidUTF8At is the offset of the first byte that is not UTF-8.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// WriteData writes a success answer from a net/http handler: status and
// the envelope {"success": true, "data": data}.
func WriteData(w http.ResponseWriter, status int, data any) {
	if rw := findWriter(w); rw != nil {
		// Under Start: encoded straight into the buffered answer.
		rw.header.Set("Content-Type", "application/json")
		rw.WriteHeader(status)
		if err := json.NewEncoder(&rw.body).Encode(envelope{Success: true, Data: data}); err != nil {
			WriteError(w, fmt.Errorf("render the answer: %w", err))
		}
		return
	}
	b, err := envelopeJSON(data)
	if err != nil {
		WriteError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// WriteError ends a net/http handler's answer with err, as a HandlerFunc
// returning it would: an Errorf error is its envelope and status; any other
// error is a 500 whose cause is logged with the request id, never shown.
// Under Start, whatever the handler wrote before or writes after is
// discarded.
func WriteError(w http.ResponseWriter, err error) {
	if err == nil {
		err = errors.New("guard.WriteError called with a nil error")
	}
	if rw := findWriter(w); rw != nil {
		if rw.err == nil {
			rw.err = err
		}
		return
	}
	// Not under Start (a test's recorder): render it here.
	e := apierr.From(err)
	b, _ := json.Marshal(e.Envelope())
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(apierr.Status(e.Code))
	_, _ = w.Write(append(b, '\n'))
}
