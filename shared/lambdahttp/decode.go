package lambdahttp

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"sync"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/jsontext"
)

// DecodeJSON reads a JSON object body into v, a pointer to a struct, strictly:
// a member name must match a json tag exactly (encoding/json alone would take
// "NAME" for "name"), a name may appear only once at any depth (encoding/json
// would keep the last), every string must be valid UTF-8 without an unpaired
// surrogate escape (encoding/json would replace it with U+FFFD), and unknown
// fields, trailing data and wrong types are 400s that name the field.
func DecodeJSON(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apierr.New(apierr.BadRequest, "The request body is empty; send a JSON object.")
	}
	if err := checkMembers(body); err != nil {
		return err
	}
	var fields map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&fields); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apierr.New(apierr.BadRequest, "The request body must be a single JSON object with nothing after it.")
	}
	if fields == nil {
		return apierr.New(apierr.BadRequest, "The request body must be a JSON object.")
	}
	known := jsonFields(reflect.TypeOf(v).Elem())
	for name := range fields {
		if !known[name] {
			return apierr.New(apierr.BadRequest, "Field '%s' is not a field of this request.", clipName(name))
		}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return decodeError(err)
	}
	return nil
}

// checkMembers walks the body's tokens and refuses an object that names a
// member twice, and any string (value or member name, at any depth) that is
// not valid UTF-8 or holds an unpaired surrogate escape: encoding/json would
// quietly replace either with U+FFFD. The message names the top-level field
// the string is in. Syntax errors are left to the decoder that follows.
func checkMembers(body []byte) error {
	type frame struct {
		object    bool
		expectKey bool
		names     map[string]bool
	}
	dec := jsontext.NewDecoder(body)
	dec.UseNumber()
	var stack []*frame
	field := "" // the top-level member being read
	value := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
	for {
		top := (*frame)(nil)
		if n := len(stack); n > 0 {
			top = stack[n-1]
		}
		tok, err := dec.Token()
		if errors.Is(err, jsontext.ErrInvalidUTF8) {
			if top != nil && top.object && top.expectKey {
				if len(stack) > 1 && field != "" {
					return apierr.New(apierr.BadRequest, "Field '%s' must be valid UTF-8 text: a field name inside it has bytes that are not UTF-8 or an unpaired \\u surrogate escape.", clipName(field))
				}
				return apierr.New(apierr.BadRequest, "A field name in the request body is not valid UTF-8 text (bytes that are not UTF-8 or an unpaired \\u surrogate escape).")
			}
			if field == "" {
				return apierr.New(apierr.BadRequest, "The request body is not valid UTF-8 text (bytes that are not UTF-8 or an unpaired \\u surrogate escape).")
			}
			return apierr.New(apierr.BadRequest, "Field '%s' must be valid UTF-8 text; it has bytes that are not UTF-8 or an unpaired \\u surrogate escape.", clipName(field))
		}
		if err != nil {
			return nil
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, &frame{object: true, expectKey: true, names: map[string]bool{}})
			case '[':
				stack = append(stack, &frame{})
			default:
				stack = stack[:len(stack)-1]
				value()
			}
		case string:
			if top != nil && top.object && top.expectKey {
				if top.names[t] {
					return apierr.New(apierr.BadRequest, "Field '%s' appears more than once in the request body.", clipName(t))
				}
				top.names[t] = true
				top.expectKey = false
				if len(stack) == 1 {
					field = t
				}
				continue
			}
			value()
		default:
			value()
		}
	}
}

func clipName(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

var fieldSets sync.Map // reflect.Type -> map[string]bool

// jsonFields is the set of JSON names of a struct type's fields.
func jsonFields(t reflect.Type) map[string]bool {
	if m, ok := fieldSets.Load(t); ok {
		return m.(map[string]bool)
	}
	m := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			// An embedded struct's fields are the outer object's, as
			// encoding/json reads them.
			for inner := range jsonFields(f.Type) {
				m[inner] = true
			}
			continue
		}
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		m[name] = true
	}
	fieldSets.Store(t, m)
	return m
}

func decodeError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return apierr.New(apierr.BadRequest, "The request body is not valid JSON (error at byte %d).", syntax.Offset)
	case errors.As(err, &typ):
		if typ.Field == "" {
			return apierr.New(apierr.BadRequest, "The request body must be a JSON object.")
		}
		field := typ.Field
		if i := strings.LastIndexByte(field, '.'); i >= 0 {
			// A member of an embedded struct is the object's own.
			field = field[i+1:]
		}
		want := typ.Type.String()
		if strings.HasPrefix(want, "int") || want == "*int" {
			want = "an integer"
		} else if strings.Contains(want, "[]string") {
			want = "a list of strings"
		} else if strings.Contains(want, "string") {
			want = "a string"
		}
		return apierr.New(apierr.BadRequest, "Field '%s' must be %s.", field, want)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apierr.New(apierr.BadRequest, "The request body is not valid JSON (it ends too early).")
	default:
		return apierr.New(apierr.BadRequest, "The request body is not valid JSON.")
	}
}

// Nullable is a request member that may be absent, null, or a value: a
// PATCH's "expiresAt": null clears the expiry, while leaving it out changes
// nothing.
type Nullable[T any] struct {
	Set   bool // the member was present
	Null  bool // its value was null
	Value T
}

// UnmarshalJSON records presence and nullness; a wrong type is the usual
// *json.UnmarshalTypeError, which names the field.
func (n *Nullable[T]) UnmarshalJSON(b []byte) error {
	n.Set = true
	if string(b) == "null" {
		n.Null = true
		return nil
	}
	return json.Unmarshal(b, &n.Value)
}

// Ptr is the value when one was given, else nil.
func (n Nullable[T]) Ptr() *T {
	if !n.Set || n.Null {
		return nil
	}
	return &n.Value
}
