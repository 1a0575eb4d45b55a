package stack

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// alarmsByName are the stack's alarms keyed by the name after
// "keygate-<stage>-".
func alarmsByName(t *testing.T, s *synthesized) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	prefix := "keygate-" + s.k.Settings.Stage + "-"
	for id, a := range s.resources("AWS::CloudWatch::Alarm") {
		name, _ := props(a)["AlarmName"].(string)
		if !strings.HasPrefix(name, prefix) {
			t.Errorf("alarm %s is named %q, want %s<what>", id, name, prefix)
		}
		out[strings.TrimPrefix(name, prefix)] = props(a)
	}
	return out
}

// mathMetrics are an alarm's metric-math queries by id: the expression (id
// "expr") and each metric as namespace/name/dimensions.
func mathMetrics(p map[string]any) (expr string, metrics map[string]string) {
	metrics = map[string]string{}
	for _, q := range asSlice(p["Metrics"]) {
		q := q.(map[string]any)
		if e, ok := q["Expression"].(string); ok {
			expr = e
			continue
		}
		m := q["MetricStat"].(map[string]any)["Metric"].(map[string]any)
		var dims []string
		for _, d := range asSlice(m["Dimensions"]) {
			d := d.(map[string]any)
			v, _ := json.Marshal(d["Value"])
			dims = append(dims, fmt.Sprintf("%s=%s", d["Name"], v))
		}
		slices.Sort(dims)
		metrics[q["Id"].(string)] = fmt.Sprintf("%s/%s %s %s", m["Namespace"], m["MetricName"],
			strings.Join(dims, ","), q["MetricStat"].(map[string]any)["Stat"])
	}
	return expr, metrics
}

func TestAlarms(t *testing.T) {
	dev := fixture(t, "dev")
	alarms := alarmsByName(t, dev)
	if got, want := slices.Sorted(maps.Keys(alarms)), slices.Sorted(slices.Values(AlarmNames())); !slices.Equal(got, want) {
		t.Fatalf("alarms %v, want %v", got, want)
	}
	for name, p := range alarms {
		if p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" || p["TreatMissingData"] != "notBreaching" {
			t.Errorf("%s: %v, missing data %v: want >= threshold, quiet without traffic", name, p["ComparisonOperator"], p["TreatMissingData"])
		}
		if d, _ := p["AlarmDescription"].(string); len(d) < 60 {
			t.Errorf("%s: description %q does not say what happened and what to look at", name, d)
		}
		if p["AlarmActions"] != nil || p["OKActions"] != nil {
			t.Errorf("%s: actions %v %v without alarmTopicArn", name, p["AlarmActions"], p["OKActions"])
		}
	}

	t.Run("authorizer errors beyond its 401s", func(t *testing.T) {
		p := alarms["AuthorizerErrors"]
		expr, metrics := mathMetrics(p)
		fnID := idOf(dev.k.Stack, dev.k.Functions["authorizer"].Node().DefaultChild())
		if !strings.Contains(metrics["errors"], "AWS/Lambda/Errors") || !strings.Contains(metrics["errors"], fnID) {
			t.Errorf("errors = %s, want the authorizer's Lambda Errors", metrics["errors"])
		}
		var denials []string
		for _, m := range metrics {
			if strings.HasPrefix(m, "Keygate/Denials Reason=") {
				denials = append(denials, m)
			}
		}
		if len(denials) != len(DenialReasons) || len(metrics) != len(DenialReasons)+1 {
			t.Errorf("metrics %v, want Errors and one Denials per reason %v", metrics, DenialReasons)
		}
		for _, r := range DenialReasons {
			if !slices.Contains(denials, fmt.Sprintf(`Keygate/Denials Reason="%s" Sum`, r)) {
				t.Errorf("no Denials metric for reason %s in %v", r, denials)
			}
		}
		if !strings.HasPrefix(expr, "errors - (FILL(d0, 0) + ") || p["Threshold"] != 5.0 || p["EvaluationPeriods"] != 1.0 {
			t.Errorf("expression %q threshold %v periods %v", expr, p["Threshold"], p["EvaluationPeriods"])
		}
	})

	t.Run("5xx rate of the stage", func(t *testing.T) {
		p := alarms["Api5xxRate"]
		expr, metrics := mathMetrics(p)
		if expr != "IF(requests >= 20, 100 * errors / requests, 0)" || p["Threshold"] != 5.0 {
			t.Errorf("expression %q threshold %v", expr, p["Threshold"])
		}
		stageRef := `Stage={"Ref":"` + idOf(dev.k.Stack, dev.k.API.DeploymentStage().Node().DefaultChild()) + `"}`
		if !strings.HasPrefix(metrics["errors"], "AWS/ApiGateway/5XXError ApiName=") || !strings.Contains(metrics["errors"], stageRef) ||
			!strings.HasPrefix(metrics["requests"], "AWS/ApiGateway/Count ApiName=") {
			t.Errorf("metrics %v, want the stage's 5XXError and Count", metrics)
		}
	})

	t.Run("keygate 503s", func(t *testing.T) {
		p := alarms["Unavailable"]
		expr, metrics := mathMetrics(p)
		want := map[string]string{
			"authorizer": `Keygate/Unavailable Component="authorizer" Sum`,
			"function":   `Keygate/Unavailable Component="function" Sum`,
		}
		if expr != "FILL(authorizer, 0) + FILL(function, 0)" || fmt.Sprint(metrics) != fmt.Sprint(want) {
			t.Errorf("expression %q metrics %v", expr, metrics)
		}
		if p["Threshold"] != 1.0 || p["EvaluationPeriods"] != 3.0 || p["DatapointsToAlarm"] != 2.0 {
			t.Errorf("threshold %v in %v of %v periods, want 1 in 2 of 3", p["Threshold"], p["DatapointsToAlarm"], p["EvaluationPeriods"])
		}
	})

	t.Run("DynamoDB throttling of table and index", func(t *testing.T) {
		_, metrics := mathMetrics(alarms["DynamoDBThrottles"])
		var got []string
		for _, m := range metrics {
			name, _, _ := strings.Cut(m, " ")
			if strings.Contains(m, "GlobalSecondaryIndexName=\"byOwner\"") {
				name += " byOwner"
			}
			got = append(got, name)
		}
		slices.Sort(got)
		want := []string{"AWS/DynamoDB/ReadThrottleEvents", "AWS/DynamoDB/ReadThrottleEvents byOwner",
			"AWS/DynamoDB/WriteThrottleEvents", "AWS/DynamoDB/WriteThrottleEvents byOwner"}
		if !slices.Equal(got, want) {
			t.Errorf("metrics %v, want %v", got, want)
		}
	})

	t.Run("throttles of every Lambda", func(t *testing.T) {
		for _, name := range LambdaNames {
			p := alarms[lambdaSpecs[name].id+"Throttles"]
			fnID := idOf(dev.k.Stack, dev.k.Functions[name].Node().DefaultChild())
			dims, _ := json.Marshal(p["Dimensions"])
			if p["MetricName"] != "Throttles" || p["Namespace"] != "AWS/Lambda" || !strings.Contains(string(dims), fnID) {
				t.Errorf("%s: %v %v %s", name, p["Namespace"], p["MetricName"], dims)
			}
		}
	})

	prod := fixture(t, "prod")
	for name, p := range alarmsByName(t, prod) {
		for _, key := range []string{"AlarmActions", "OKActions"} {
			if got := strs(p[key]); !slices.Equal(got, []string{"arn:aws:sns:us-east-1:123456789012:keygate-alarms"}) {
				t.Errorf("prod: %s %s = %v, want the alarm topic", name, key, got)
			}
		}
	}
}

// dashboardBody is the dashboard's JSON with every token rendered as "?".
func dashboardBody(t *testing.T, s *synthesized) string {
	t.Helper()
	dashboards := s.resources("AWS::CloudWatch::Dashboard")
	if len(dashboards) != 1 {
		t.Fatalf("%d dashboards, want 1", len(dashboards))
	}
	for _, d := range dashboards {
		if renderJoin(t, props(d)["DashboardName"], map[string]string{"AWS::Region": "eu-west-1"}) != "keygate-"+s.k.Settings.Stage+"-eu-west-1" {
			t.Errorf("dashboard name %v", props(d)["DashboardName"])
		}
		body := props(d)["DashboardBody"]
		if join, ok := body.(map[string]any)["Fn::Join"].([]any); ok {
			var b strings.Builder
			for _, part := range asSlice(join[1]) {
				if str, ok := part.(string); ok {
					b.WriteString(str)
				} else {
					b.WriteString("?")
				}
			}
			return b.String()
		}
		return body.(string)
	}
	return ""
}

func TestDashboard(t *testing.T) {
	s := fixture(t, "dev")
	body := dashboardBody(t, s)
	var doc struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Title   string  `json:"title"`
				Metrics [][]any `json:"metrics"`
				Alarms  []any   `json:"alarms"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("dashboard body is not JSON: %v\n%s", err, body)
	}
	var metricsText []string
	alarms := 0
	for _, w := range doc.Widgets {
		alarms += len(w.Properties.Alarms)
		for _, m := range w.Properties.Metrics {
			b, _ := json.Marshal(m)
			metricsText = append(metricsText, string(b))
		}
	}
	all := strings.Join(metricsText, "\n")
	// keygate's EMF metrics (design.md), each by its dimensions.
	for _, want := range []string{
		`SEARCH('{Keygate,Route,Outcome} MetricName=\"Requests\"', 'Sum', 60)`,
		`SEARCH('{Keygate,Route} MetricName=\"RateLimited\"', 'Sum', 60)`,
		`SEARCH('{Keygate,Reason} MetricName=\"Denials\"', 'Sum', 60)`,
		`SEARCH('{Keygate,Operation} MetricName=\"StoreLatency\"', 'p99', 60)`,
		`SEARCH('{Keygate,Result} MetricName=\"JWKSFetches\"', 'Sum', 60)`,
		`"Keygate","Unavailable","Component","authorizer"`,
		`"Keygate","Unavailable","Component","function"`,
		// and AWS's own
		`"AWS/ApiGateway","Count"`, `"AWS/ApiGateway","5XXError"`, `"AWS/ApiGateway","Latency"`,
		`"AWS/Lambda","ConcurrentExecutions"`, `"AWS/Lambda","Throttles"`, `"AWS/Lambda","Duration"`,
		`"AWS/DynamoDB","ConsumedWriteCapacityUnits"`, `"AWS/DynamoDB","WriteThrottleEvents"`, `"AWS/DynamoDB","SuccessfulRequestLatency"`,
		`"AWS/CloudFront","Requests"`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("dashboard has no %s", want)
		}
	}
	if alarms != len(AlarmNames()) {
		t.Errorf("alarm widget shows %d alarms, want all %d", alarms, len(AlarmNames()))
	}
	for _, m := range metricsText {
		for _, bad := range []string{"csk_", "keyprefix", `"sub"`, "hash", "authorization"} {
			if strings.Contains(strings.ToLower(m), bad) {
				t.Errorf("a dashboard metric mentions %q: %s", bad, m)
			}
		}
	}
	ceiling := regexp.MustCompile(`\{"label":"reserved \(ceiling\)","value":100[,}]|\{"value":100,"label":"reserved \(ceiling\)"`)
	if ceiling.MatchString(body) {
		t.Error("dev reserves nothing, yet the authorizer concurrency graph shows a reserved ceiling")
	}
	if !ceiling.MatchString(dashboardBody(t, fixture(t, "prod"))) {
		t.Error("prod (authorizerReservedConcurrency=100): the authorizer concurrency graph does not show the reserved ceiling")
	}
}

// TestMetricsMatchServiceCode: the alarms and the dashboard name what
// shared/metrics writes; a renamed metric or a new denial reason would
// otherwise only show as a silent alarm (or, for a reason, a false one).
func TestMetricsMatchServiceCode(t *testing.T) {
	src, err := os.ReadFile("../../shared/metrics/dimensions.go")
	if err != nil {
		serviceCodeUnreadable(t, err)
	}
	quoted := func(vals []string) string {
		q := make([]string, len(vals))
		for i, v := range vals {
			q[i] = fmt.Sprintf("%q", v)
		}
		return strings.Join(q, ", ")
	}
	for _, want := range []string{
		`reasonTable = []string{"", ` + quoted(DenialReasons) + `}`,
		`componentTable = []string{"", ` + quoted(UnavailableComponents) + `}`,
		fmt.Sprintf(`{%q, "Count", []int{dRoute, dOutcome}}`, MetricRequests),
		fmt.Sprintf(`{%q, "Count", []int{dRoute}}`, MetricRateLimited),
		fmt.Sprintf(`{%q, "Count", []int{dComponent}}`, MetricUnavailable),
		fmt.Sprintf(`{%q, "Count", []int{dReason}}`, MetricDenials),
		fmt.Sprintf(`{%q, "Milliseconds", []int{dOperation}}`, MetricStoreLat),
		fmt.Sprintf(`{%q, "Count", []int{dResult}}`, MetricJWKSFetches),
		`dimNames = [numDims]string{"Route", "Outcome", "Component", "Reason", "Operation", "Result"}`,
	} {
		if !strings.Contains(string(src), want) {
			t.Errorf("shared/metrics/dimensions.go does not spell %s", want)
		}
	}
	ns, err := os.ReadFile("../../shared/metrics/metrics.go")
	if err == nil && !strings.Contains(string(ns), fmt.Sprintf("const Namespace = %q", MetricsNamespace)) {
		t.Errorf("shared/metrics/metrics.go: namespace is not %q", MetricsNamespace)
	}
}
