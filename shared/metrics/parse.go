package metrics

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
)

// Datum is one metric value set extracted from an EMF document, as
// CloudWatch would publish it.
type Datum struct {
	Namespace string
	Name      string
	Unit      string
	Dims      map[string]string // dimension name → value
	Values    []float64
	Timestamp int64 // milliseconds since the epoch
}

// Units are the units CloudWatch accepts.
var Units = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes",
	"Terabytes", "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
	"Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
	"Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

// ErrNotEMF is returned for a line that is not an EMF document at all (no
// _aws member): a plain log line.
var ErrNotEMF = errors.New("not an EMF document")

// ParseLine checks one log line against the EMF specification, as CloudWatch
// Logs reads it, and returns the metrics it carries. It is the reading side
// of this package, for tests and the soak run: a line it accepts is one
// CloudWatch extracts metrics from.
//
// Checked: the line is one JSON object and nothing else; _aws holds an integer
// Timestamp in milliseconds and a non-empty CloudWatchMetrics array and no
// other member; each directive has a Namespace of 1–255 characters, at least
// one dimension set of at most 30 names, each naming a top-level member with
// a string value, and 1–100 metric definitions, each naming a top-level
// member that is a number or an array of 1–100 numbers, with a Unit (if any)
// that CloudWatch knows.
func ParseLine(line []byte) ([]Datum, error) {
	line = bytes.TrimRight(line, "\r\n")
	var root map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	raw, ok := root["_aws"]
	if !ok {
		return nil, ErrNotEMF
	}
	var meta map[string]json.RawMessage
	if err := strictUnmarshal(raw, &meta); err != nil {
		return nil, fmt.Errorf("_aws: %w", err)
	}
	for k := range meta {
		if k != "Timestamp" && k != "CloudWatchMetrics" && k != "LogGroupName" && k != "LogStreamName" {
			return nil, fmt.Errorf("_aws has a member the specification does not define: %q", k)
		}
	}
	var ts json.Number
	if err := strictNumber(meta["Timestamp"], &ts); err != nil {
		return nil, fmt.Errorf("_aws.Timestamp: %w", err)
	}
	t, err := ts.Int64()
	if err != nil || t < 1e12 || t > 1e14 {
		return nil, fmt.Errorf("_aws.Timestamp %s is not an integer count of milliseconds", ts)
	}
	var directives []map[string]json.RawMessage
	if err := strictUnmarshal(meta["CloudWatchMetrics"], &directives); err != nil || len(directives) == 0 {
		return nil, fmt.Errorf("_aws.CloudWatchMetrics must be a non-empty array of objects")
	}
	var out []Datum
	for i, d := range directives {
		for k := range d {
			if k != "Namespace" && k != "Dimensions" && k != "Metrics" {
				return nil, fmt.Errorf("directive %d has a member the specification does not define: %q", i, k)
			}
		}
		var ns string
		if err := strictUnmarshal(d["Namespace"], &ns); err != nil || len(ns) < 1 || len(ns) > 255 {
			return nil, fmt.Errorf("directive %d: Namespace must be a string of 1-255 characters", i)
		}
		var sets [][]string
		if err := strictUnmarshal(d["Dimensions"], &sets); err != nil || len(sets) == 0 {
			return nil, fmt.Errorf("directive %d: Dimensions must be a non-empty array of arrays of strings", i)
		}
		var defs []map[string]json.RawMessage
		if err := strictUnmarshal(d["Metrics"], &defs); err != nil || len(defs) == 0 || len(defs) > 100 {
			return nil, fmt.Errorf("directive %d: Metrics must be an array of 1-100 metric definitions", i)
		}
		dimSets := make([]map[string]string, 0, len(sets))
		for _, set := range sets {
			if len(set) > 30 {
				return nil, fmt.Errorf("directive %d: a dimension set has %d names; at most 30", i, len(set))
			}
			dims := map[string]string{}
			for _, name := range set {
				if len(name) < 1 || len(name) > 255 {
					return nil, fmt.Errorf("directive %d: dimension name %q must have 1-255 characters", i, name)
				}
				var v string
				if err := strictUnmarshal(root[name], &v); err != nil {
					return nil, fmt.Errorf("directive %d: dimension %q must be a top-level member with a string value", i, name)
				}
				dims[name] = v
			}
			dimSets = append(dimSets, dims)
		}
		for _, def := range defs {
			for k := range def {
				if k != "Name" && k != "Unit" && k != "StorageResolution" {
					return nil, fmt.Errorf("directive %d: metric definition has a member the specification does not define: %q", i, k)
				}
			}
			var name, unit string
			if err := strictUnmarshal(def["Name"], &name); err != nil || len(name) < 1 || len(name) > 255 {
				return nil, fmt.Errorf("directive %d: metric Name must be a string of 1-255 characters", i)
			}
			if u, ok := def["Unit"]; ok {
				if err := strictUnmarshal(u, &unit); err != nil || !slices.Contains(Units, unit) {
					return nil, fmt.Errorf("metric %q: Unit %s is not a CloudWatch unit", name, u)
				}
			}
			values, err := metricValues(root[name])
			if err != nil {
				return nil, fmt.Errorf("metric %q: %w", name, err)
			}
			for _, dims := range dimSets {
				out = append(out, Datum{Namespace: ns, Name: name, Unit: unit, Dims: dims, Values: values, Timestamp: t})
			}
		}
	}
	return out, nil
}

func metricValues(raw json.RawMessage) ([]float64, error) {
	if raw == nil {
		return nil, errors.New("no top-level member holds its value")
	}
	var one json.Number
	if err := strictNumber(raw, &one); err == nil {
		v, err := one.Float64()
		if err != nil || math.IsInf(v, 0) {
			return nil, fmt.Errorf("value %s is not a number", one)
		}
		return []float64{v}, nil
	}
	var many []json.RawMessage
	if err := strictUnmarshal(raw, &many); err != nil {
		return nil, fmt.Errorf("value %s is neither a number nor an array of numbers", raw)
	}
	if len(many) == 0 || len(many) > 100 {
		return nil, fmt.Errorf("an array of values must hold 1-100 numbers, not %d", len(many))
	}
	out := make([]float64, len(many))
	for i, r := range many {
		var n json.Number
		if err := strictNumber(r, &n); err != nil {
			return nil, fmt.Errorf("value %s is not a number", r)
		}
		v, err := n.Float64()
		if err != nil {
			return nil, fmt.Errorf("value %s is not a number", n)
		}
		out[i] = v
	}
	return out, nil
}

// strictNumber decodes a JSON number (not a string that holds one).
func strictNumber(raw json.RawMessage, n *json.Number) error {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] == '"' {
		return errors.New("not a number")
	}
	return strictUnmarshal(raw, n)
}

// strictUnmarshal decodes raw into v, keeping numbers exact and refusing a
// missing member (nil raw).
func strictUnmarshal(raw json.RawMessage, v any) error {
	if raw == nil {
		return errors.New("missing")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	return dec.Decode(v)
}
