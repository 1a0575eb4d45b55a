package metrics

import (
	"strconv"
	"sync"
)

// Spec limits (CloudWatch EMF specification): at most 100 values in a metric's
// array, at most 100 metrics in a directive, at most 30 dimensions in a
// dimension set. keygate's directives hold one metric with at most two
// dimensions; the value limit is enforced here.
const (
	maxValues = 100
	maxSeries = 64 // series per recorder before it writes what it has
)

// series is one metric with one set of dimension values: a count, or the
// values of a latency.
type series struct {
	m        metricID
	dims     [numDims]uint8
	count    int64
	value    float64 // the one value being added (latency)
	hasValue bool
	vals     []float64
}

// Recorder collects one invocation's metrics. Its zero value is not used:
// Start returns one. A nil *Recorder (metrics off) is valid and does nothing.
type Recorder struct {
	mu     sync.Mutex // a handler may call the store from several goroutines
	e      *Emitter
	owner  *invocation // the invocation recording now; nil once flushed
	series []series
	buf    []byte
	placed [maxSeries]bool
}

// add records s for inv; false when inv's invocation has already been
// flushed (a late hook), which the caller then writes on its own.
func (r *Recorder) add(inv *invocation, s series) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.owner != inv {
		return false
	}
	r.addLocked(s)
	return true
}

func (r *Recorder) addLocked(s series) {
	for d := range numDims {
		if int(s.dims[d]) >= len(table(d).names) {
			if d != dRoute {
				return // not a value of the fixed set: dropped, never written
			}
			s.dims[d] = uint8(RouteOther)
		}
	}
	for i := range r.series {
		c := &r.series[i]
		if c.m != s.m || c.dims != s.dims {
			continue
		}
		if !s.hasValue {
			c.count += s.count
			return
		}
		if len(c.vals) < maxValues {
			c.vals = append(c.vals, s.value)
			return
		}
	}
	if len(r.series) == maxSeries {
		r.flushLocked()
	}
	// Reuse the slot's value array from an earlier invocation.
	if len(r.series) < cap(r.series) {
		r.series = r.series[:len(r.series)+1]
	} else {
		r.series = append(r.series, series{})
	}
	c := &r.series[len(r.series)-1]
	c.m, c.dims, c.count, c.vals = s.m, s.dims, s.count, c.vals[:0]
	if s.hasValue {
		c.vals = append(c.vals, s.value)
	}
}

// Flush writes the invocation's metrics and ends it: hooks called later with
// its context write lines of their own. Safe on a nil Recorder.
func (r *Recorder) Flush() {
	if r == nil {
		return
	}
	r.mu.Lock()
	r.flushLocked()
	e := r.e
	r.owner, r.e = nil, nil
	r.mu.Unlock()
	if e != nil {
		recorders.Put(r)
	}
}

// flushLocked encodes the series into as few EMF documents as the one value
// per dimension name allows, one line each, and writes them with one Write.
func (r *Recorder) flushLocked() {
	if len(r.series) == 0 || r.e == nil {
		r.series = r.series[:0]
		return
	}
	ts := r.e.stamp()
	b := r.buf[:0]
	n := len(r.series)
	for i := range n {
		r.placed[i] = false
	}
	for left := n; left > 0; {
		// Greedily take every series that agrees with the document's
		// dimension values and whose metric name is not in it yet.
		var doc [numDims]uint8
		var names uint32
		start := len(b)
		b = append(b, `{"_aws":{"Timestamp":`...)
		b = strconv.AppendInt(b, ts, 10)
		b = append(b, `,"CloudWatchMetrics":[`...)
		first := true
		var members [maxSeries]int
		nm := 0
		for i := range n {
			s := &r.series[i]
			if r.placed[i] || names&(1<<s.m) != 0 || !fits(&doc, &s.dims) {
				continue
			}
			for d := range numDims {
				if s.dims[d] != 0 {
					doc[d] = s.dims[d]
				}
			}
			names |= 1 << s.m
			r.placed[i] = true
			left--
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(b, directives[s.m]...)
			members[nm] = i
			nm++
		}
		b = append(b, "]}"...)
		for d := range numDims {
			if doc[d] != 0 {
				b = append(b, ",\""...)
				b = append(b, dimNames[d]...)
				b = append(b, "\":"...)
				b = append(b, quotedValue(d, doc[d])...)
			}
		}
		for _, i := range members[:nm] {
			s := &r.series[i]
			b = append(b, ",\""...)
			b = append(b, metricDefs[s.m].name...)
			b = append(b, "\":"...)
			switch {
			case !isValued(s.m):
				b = strconv.AppendInt(b, s.count, 10)
			case len(s.vals) == 1:
				b = strconv.AppendFloat(b, s.vals[0], 'f', -1, 64)
			default:
				b = append(b, '[')
				for j, v := range s.vals {
					if j > 0 {
						b = append(b, ',')
					}
					b = strconv.AppendFloat(b, v, 'f', -1, 64)
				}
				b = append(b, ']')
			}
		}
		b = append(b, r.e.members...)
		b = append(b, "}\n"...)
		if nm == 0 { // cannot happen: every document takes at least one series
			b = b[:start]
			break
		}
	}
	r.buf = b
	r.series = r.series[:0]
	r.e.write(b)
}

func isValued(m metricID) bool { return m == mStoreLatency }

// fits reports whether a series' dimension values agree with a document's.
func fits(doc, d *[numDims]uint8) bool {
	for i := range numDims {
		if d[i] != 0 && doc[i] != 0 && doc[i] != d[i] {
			return false
		}
	}
	return true
}

// directives holds each metric's MetricDirective, encoded once.
var directives [numMetrics][]byte

func init() {
	for m, def := range metricDefs {
		b := []byte(`{"Namespace":"` + Namespace + `","Dimensions":[[`)
		for i, d := range def.dims {
			if i > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendQuote(b, dimNames[d])
		}
		b = append(b, `]],"Metrics":[{"Name":"`+def.name+`","Unit":"`+def.unit+`"}]}`...)
		directives[m] = b
	}
}
