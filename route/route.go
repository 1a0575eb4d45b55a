// Package route declares the routes of an API behind keygate: method, path,
// the Lambda that serves it, the scope a key needs for it and what one request
// costs from the key's daily budget. One declaration serves everything that
// needs it: local mode serves the routes, the authorizer's policy lists the
// methods a scoped key may call, the route adapter meters each request at its
// route's cost, GET /v1/scopes lists the scopes, and the CDK construct deploys
// the routes. keygate's own routes are Keygate; a product declares its own the
// same way and hands them to the construct (infra) and to local mode.
//
// This package has no dependencies, so a CDK app can import it.
package route

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// Route is one method of the API.
type Route struct {
	// Method is the HTTP method (GET, POST, PUT, PATCH, DELETE).
	Method string `json:"method"`
	// Path is the resource path as API Gateway writes it, parameters in
	// braces: /v1/reports/{id}.
	Path string `json:"path"`
	// Function names the Lambda that serves the route, unique in the
	// deployment (keygate's own are functions/<Function>).
	Function string `json:"function,omitempty"`
	// Scope is what a key must hold to call the route: <resource>:<action>,
	// lower case (reports:read). Empty: no scope is needed (keygate's key
	// management, which refuses every key anyway, and GET /v1/scopes).
	Scope string `json:"scope,omitempty"`
	// Cost is what one key request takes from the key's daily budget,
	// 1..MaxCost; 0 means 1.
	Cost int `json:"cost,omitempty"`
	// Public routes have no authorizer and no meter (GitHub's secret
	// scanning reports authenticate by their signature).
	Public bool `json:"public,omitempty"`
	// Unmetered routes take nothing from a key's budget; the key is still
	// checked (revoked, expired, suspended, scopes, networks) on every
	// request.
	Unmetered bool `json:"unmetered,omitempty"`
	// Description says what the route does, in a few words; GET /v1/scopes
	// describes a scope by its routes' descriptions.
	Description string `json:"description,omitempty"`
	// MaxBody is the largest request body in bytes; 0 is 16 KiB.
	MaxBody int `json:"maxBody,omitempty"`
}

// MaxCost is the most one request may cost.
const MaxCost = 1000

// All is the scope list of a key that may call every route.
const All = "*"

// Name is "METHOD /path", how messages and GET /v1/scopes name a route.
func (r Route) Name() string { return r.Method + " " + r.Path }

// Units is what one key request costs: Cost, or 1 when unset.
func (r Route) Units() int {
	if r.Cost <= 0 {
		return 1
	}
	return r.Cost
}

// Metered reports whether a key request on the route is counted.
func (r Route) Metered() bool { return !r.Public && !r.Unmetered }

var methods = []string{"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}

// Validate checks one declaration: a known method, a path of non-empty
// segments (parameters as {name}), a well-formed scope, a cost in range.
func (r Route) Validate() error {
	if !slices.Contains(methods, r.Method) {
		return fmt.Errorf("route %s: method must be one of %s", r.Name(), strings.Join(methods, ", "))
	}
	if err := validPath(r.Path); err != nil {
		return fmt.Errorf("route %s: %w", r.Name(), err)
	}
	if r.Scope != "" && !ValidScope(r.Scope) {
		return fmt.Errorf("route %s: scope %q is not <resource>:<action> in lower case (letters, digits, -, _ and .)", r.Name(), r.Scope)
	}
	if r.Cost < 0 || r.Cost > MaxCost {
		return fmt.Errorf("route %s: cost %d is not from 1 to %d", r.Name(), r.Cost, MaxCost)
	}
	if r.Public && (r.Scope != "" || r.Cost != 0 || r.Unmetered) {
		return fmt.Errorf("route %s: a public route has no scope, cost or meter", r.Name())
	}
	if r.Unmetered && r.Cost != 0 {
		return fmt.Errorf("route %s: an unmetered route has no cost", r.Name())
	}
	return nil
}

func validPath(p string) error {
	if !strings.HasPrefix(p, "/") || len(p) < 2 || strings.HasSuffix(p, "/") {
		return fmt.Errorf("path must start with / and not end with one")
	}
	for _, seg := range strings.Split(p[1:], "/") {
		switch {
		case seg == "":
			return fmt.Errorf("path has an empty segment")
		case strings.HasPrefix(seg, "{") != strings.HasSuffix(seg, "}"):
			return fmt.Errorf("path segment %q: a parameter is {name}", seg)
		case strings.ContainsAny(seg, "*?# "):
			return fmt.Errorf("path segment %q has a character API Gateway does not take", seg)
		}
	}
	return nil
}

// ValidScope reports whether s is <resource>:<action>: lower-case letters,
// digits, '-', '_' and '.', each part starting with a letter, at most 64
// characters in all.
func ValidScope(s string) bool {
	res, act, ok := strings.Cut(s, ":")
	return ok && len(s) <= 64 && scopePart(res) && scopePart(act)
}

func scopePart(p string) bool {
	if p == "" || p[0] < 'a' || p[0] > 'z' {
		return false
	}
	for i := range len(p) {
		c := p[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' && c != '_' && c != '.' {
			return false
		}
	}
	return true
}

// Params are the {name} segments of a path, in order.
func Params(path string) []string {
	var names []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			names = append(names, seg[1:len(seg)-1])
		}
	}
	return names
}

// Resource is the route's part of an API Gateway method ARN,
// METHOD/path with every parameter as *: GET/v1/reports/*.
func (r Route) Resource() string {
	segs := strings.Split(r.Path, "/")
	for i, seg := range segs {
		if strings.HasPrefix(seg, "{") {
			segs[i] = "*"
		}
	}
	return r.Method + strings.Join(segs, "/")
}

// Table is the routes of one deployment.
type Table []Route

// Validate checks every route and that no method and path is declared
// twice.
func (t Table) Validate() error {
	seen := map[string]bool{}
	for _, r := range t {
		if err := r.Validate(); err != nil {
			return err
		}
		if seen[r.Name()] {
			return fmt.Errorf("route %s is declared twice", r.Name())
		}
		seen[r.Name()] = true
	}
	return nil
}

// Find is the route of method on resource path (as API Gateway names it,
// with {params}).
func (t Table) Find(method, path string) (Route, bool) {
	for _, r := range t {
		if r.Method == method && r.Path == path {
			return r, true
		}
	}
	return Route{}, false
}

// Scope is one scope of a deployment, as GET /v1/scopes lists it.
type Scope struct {
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Routes      []string `json:"routes"`
}

// Scopes lists the table's scopes by name, each with its routes in table
// order and a description made of theirs.
func (t Table) Scopes() []Scope {
	byName := map[string]*Scope{}
	var names []string
	for _, r := range t {
		if r.Scope == "" || r.Public {
			continue
		}
		s, ok := byName[r.Scope]
		if !ok {
			s = &Scope{Name: r.Scope}
			byName[r.Scope] = s
			names = append(names, r.Scope)
		}
		s.Routes = append(s.Routes, r.Name())
		if r.Description != "" {
			if s.Description != "" {
				s.Description += "; "
			}
			s.Description += r.Description
		}
	}
	slices.Sort(names)
	out := make([]Scope, len(names))
	for i, n := range names {
		out[i] = *byName[n]
		if out[i].Description == "" {
			out[i].Description = "Call " + strings.Join(out[i].Routes, ", ")
		}
	}
	return out
}

// HasScope reports whether some route of the table needs scope s.
func (t Table) HasScope(s string) bool {
	for _, r := range t {
		if r.Scope == s && !r.Public {
			return true
		}
	}
	return false
}

// Encode renders routes for the KEYGATE_ROUTES setting of a deployed
// function: compact JSON, the same fields as the declaration.
func Encode(routes []Route) string {
	b, err := json.Marshal(routes)
	if err != nil {
		panic(err) // plain strings and numbers always encode
	}
	return string(b)
}

// Decode reads a KEYGATE_ROUTES setting; empty is no routes.
func Decode(s string) (Table, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var t Table
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("routes: %w", err)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// Summary lists the table's routes for a person: the methods of each path
// joined by |, paths in the order they first appear ("POST|GET
// /v1/api-keys, GET /v1/usage").
func (t Table) Summary() string {
	var paths []string
	methods := map[string][]string{}
	for _, r := range t {
		if _, ok := methods[r.Path]; !ok {
			paths = append(paths, r.Path)
		}
		methods[r.Path] = append(methods[r.Path], r.Method)
	}
	parts := make([]string, len(paths))
	for i, p := range paths {
		parts[i] = strings.Join(methods[p], "|") + " " + p
	}
	return strings.Join(parts, ", ")
}
