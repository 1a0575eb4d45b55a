package stack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// The metrics keygate's code writes in CloudWatch Embedded Metric Format
// (design.md, "Metrics"). No dimension holds a credential, key, prefix, token,
// hash or user id.
const (
	MetricsNamespace  = "Keygate"
	MetricRequests    = "Requests"     // [Route, Outcome]
	MetricRateLimited = "RateLimited"  // [Route]: 429s
	MetricUnavailable = "Unavailable"  // [Component]: 503s
	MetricDenials     = "Denials"      // [Reason]: the authorizer's 401s
	MetricStoreLat    = "StoreLatency" // [Operation], milliseconds
	MetricJWKSFetches = "JWKSFetches"  // [Result]
)

// DenialReasons are the values of the authorizer's Denials dimension. Each is
// an "Unauthorized" answer, which Lambda counts as a function error: the
// authorizer-errors alarm subtracts them.
var DenialReasons = []string{"no_credential", "malformed", "unknown", "revoked", "expired", "wrong_secret", "invalid_token"}

// UnavailableComponents are the values of the Unavailable dimension.
var UnavailableComponents = []string{"authorizer", "function"}

// Monitoring is the stack's alarms (by name, see AlarmNames) and dashboard.
type Monitoring struct {
	Alarms    map[string]awscloudwatch.Alarm
	Dashboard awscloudwatch.Dashboard
}

// Alarm thresholds. A count alarm fires when the thing happened in 2 of the
// last 3 minutes (a lone blip, which the SDK's retries or a client's retry
// absorb, does not page anyone); the rate and error alarms look at 5 minutes.
const (
	apiMinRequests       = 20 // below this many requests in 5 min, the 5xx rate is noise
	api5xxRatePercent    = 5
	authorizerErrorLimit = 5 // per 5 min, beyond its 401 answers
)

type monitored struct {
	k     *Keygate
	scope constructs.Construct
	s     Settings
	act   awscloudwatch.IAlarmAction
	out   *Monitoring
}

func newMonitoring(scope constructs.Construct, s Settings, k *Keygate) *Monitoring {
	m := &monitored{k: k, scope: scope, s: s, out: &Monitoring{Alarms: map[string]awscloudwatch.Alarm{}}}
	if s.AlarmTopicArn != "" {
		topic := awssns.Topic_FromTopicArn(scope, jsii.String("AlarmTopic"), jsii.String(s.AlarmTopicArn))
		m.act = awscloudwatchactions.NewSnsAction(topic)
	}
	one, five := awscdk.Duration_Minutes(jsii.Number(1)), awscdk.Duration_Minutes(jsii.Number(5))
	sum := func(period awscdk.Duration) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: period}
	}

	// Authorizer errors that are not 401s: crashes, timeouts, and the store or
	// JWKS failures it reports as errors (503 to the client).
	auth := k.Functions["authorizer"]
	using := map[string]awscloudwatch.IMetric{"errors": auth.MetricErrors(sum(five))}
	var denials []string
	for i, reason := range DenialReasons {
		id := fmt.Sprintf("d%d", i)
		using[id] = keygateMetric(MetricDenials, map[string]string{"Reason": reason}, "Sum", five)
		denials = append(denials, fmt.Sprintf("FILL(%s, 0)", id))
	}
	m.alarm("AuthorizerErrors", awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("errors - (" + strings.Join(denials, " + ") + ")"),
		UsingMetrics: &using, Period: five, Label: jsii.String("authorizer errors other than 401"),
	}), authorizerErrorLimit, 1, 1,
		fmt.Sprintf("The authorizer failed (crash, timeout, store or JWKS failure) at least %d times in 5 minutes, beyond its 401 answers: clients get 503. Check the authorizer's log group for ERROR lines.", authorizerErrorLimit))

	stage := k.API.DeploymentStage()
	m.alarm("Api5xxRate", awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(fmt.Sprintf("IF(requests >= %d, 100 * errors / requests, 0)", apiMinRequests)),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"errors":   stage.MetricServerError(sum(five)),
			"requests": stage.MetricCount(sum(five)),
		},
		Period: five, Label: jsii.String("5xx % of requests"),
	}), api5xxRatePercent, 1, 1,
		fmt.Sprintf("At least %d%% of the stage's requests got a 5xx in 5 minutes (with %d or more requests): 503s from an unreachable store or JWKS, or 500s from a bug. See the Unavailable alarm and the functions' logs.", api5xxRatePercent, apiMinRequests))

	unavailable := map[string]awscloudwatch.IMetric{}
	var parts []string
	for _, c := range UnavailableComponents {
		unavailable[c] = keygateMetric(MetricUnavailable, map[string]string{"Component": c}, "Sum", one)
		parts = append(parts, fmt.Sprintf("FILL(%s, 0)", c))
	}
	m.alarm("Unavailable", awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(strings.Join(parts, " + ")), UsingMetrics: &unavailable,
		Period: one, Label: jsii.String("503 ServiceUnavailable"),
	}), 1, 3, 2,
		"keygate answered 503 ServiceUnavailable (fail closed: the store did not answer within storeTimeoutMs, was throttled after retries, or the JWKS could not be fetched) in 2 of the last 3 minutes. See the dashboard's Unavailable and StoreLatency graphs.")

	ddb := map[string]awscloudwatch.IMetric{
		"tableReads":  k.Table.Metric(jsii.String("ReadThrottleEvents"), sum(one)),
		"tableWrites": k.Table.Metric(jsii.String("WriteThrottleEvents"), sum(one)),
		"indexReads":  indexMetric(k, "ReadThrottleEvents", one),
		"indexWrites": indexMetric(k, "WriteThrottleEvents", one),
	}
	m.alarm("DynamoDBThrottles", awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("FILL(tableReads, 0) + FILL(tableWrites, 0) + FILL(indexReads, 0) + FILL(indexWrites, 0)"),
		UsingMetrics: &ddb, Period: one, Label: jsii.String("throttle events"),
	}), 1, 3, 2,
		"DynamoDB throttled the table or its byOwner index in 2 of the last 3 minutes. On demand, that means a hot partition or the table's throughput ceiling; requests past the SDK's retries get 503.")

	// One per function, so the alarm names the function. The authorizer's
	// means its reserved concurrency (authorizerReservedConcurrency) is spent.
	for _, name := range LambdaNames {
		spec := lambdaSpecs[name]
		desc := fmt.Sprintf("Lambda throttled %s in 2 of the last 3 minutes: the account's concurrency is spent.", name)
		switch {
		case name == "authorizer" && s.AuthorizerReservedConcurrency > 0:
			desc = "Lambda throttled the authorizer in 2 of the last 3 minutes: its reserved concurrency (authorizerReservedConcurrency) is spent, and those requests got 503. A flood of garbage credentials, or traffic that has outgrown the setting."
		case name == "authorizer":
			desc = "Lambda throttled the authorizer in 2 of the last 3 minutes: the account's concurrency is spent (the authorizer has no reservation, authorizerReservedConcurrency=0), and those requests got 503. Raise the account's Lambda concurrency quota, or reserve the authorizer a share (README, Deploy)."
		}
		m.alarm(spec.id+"Throttles", k.Functions[name].MetricThrottles(sum(one)), 1, 3, 2, desc)
	}

	m.out.Dashboard = m.dashboard()
	return m.out
}

// alarm defines an alarm on metric ≥ threshold in datapoints of the last
// periods periods; missing data (no traffic) is fine.
func (m *monitored) alarm(name string, metric awscloudwatch.IMetric, threshold, periods, datapoints float64, description string) {
	a := awscloudwatch.NewAlarm(m.scope, jsii.String("Alarm"+name), &awscloudwatch.AlarmProps{
		AlarmName:          jsii.String(fmt.Sprintf("keygate-%s-%s", m.s.Stage, name)),
		AlarmDescription:   jsii.String(description),
		Metric:             metric,
		Threshold:          jsii.Number(threshold),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods:  jsii.Number(periods),
		DatapointsToAlarm:  jsii.Number(datapoints),
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	if m.act != nil {
		a.AddAlarmAction(m.act)
		a.AddOkAction(m.act)
	}
	m.out.Alarms[name] = a
}

func keygateMetric(name string, dims map[string]string, stat string, period awscdk.Duration) awscloudwatch.Metric {
	dm := map[string]*string{}
	for k, v := range dims {
		dm[k] = jsii.String(v)
	}
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String(MetricsNamespace), MetricName: jsii.String(name),
		DimensionsMap: &dm, Statistic: jsii.String(stat), Period: period,
	})
}

func indexMetric(k *Keygate, name string, period awscdk.Duration) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace: jsii.String("AWS/DynamoDB"), MetricName: jsii.String(name),
		DimensionsMap: &map[string]*string{
			"TableName":                k.Table.TableName(),
			"GlobalSecondaryIndexName": jsii.String(IndexByOwner),
		},
		Statistic: jsii.String("Sum"), Period: period,
	})
}

// search is a SEARCH expression over keygate's EMF metric name with the
// dimension set dims, one line per dimension value.
func search(name string, dims []string, stat, label string) awscloudwatch.MathExpression {
	schema := strings.Join(append([]string{MetricsNamespace}, dims...), ",")
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String(fmt.Sprintf(`SEARCH('{%s} MetricName="%s"', '%s', 60)`, schema, name, stat)),
		UsingMetrics: &map[string]awscloudwatch.IMetric{},
		Label:        jsii.String(label),
		Period:       awscdk.Duration_Minutes(jsii.Number(1)),
	})
}

func (m *monitored) dashboard() awscloudwatch.Dashboard {
	k := m.k
	one := awscdk.Duration_Minutes(jsii.Number(1))
	opts := func(stat string) *awscloudwatch.MetricOptions {
		return &awscloudwatch.MetricOptions{Statistic: jsii.String(stat), Period: one}
	}
	graph := func(title string, width float64, left ...awscloudwatch.IMetric) awscloudwatch.GraphWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6), Left: &left,
		})
	}
	perFunction := func(metric func(name string) awscloudwatch.IMetric) []awscloudwatch.IMetric {
		var out []awscloudwatch.IMetric
		for _, name := range LambdaNames {
			out = append(out, metric(name))
		}
		return out
	}

	var alarms []interfacesawscloudwatch.IAlarmRef
	for _, name := range AlarmNames() {
		alarms = append(alarms, m.out.Alarms[name])
	}
	stage := k.API.DeploymentStage()
	auth := k.Functions["authorizer"]

	concurrencyProps := &awscloudwatch.GraphWidgetProps{
		Title: jsii.String("Authorizer concurrency"), Width: jsii.Number(8), Height: jsii.Number(6),
		Left: &[]awscloudwatch.IMetric{auth.Metric(jsii.String("ConcurrentExecutions"), opts("Maximum"))},
	}
	if m.s.AuthorizerReservedConcurrency > 0 {
		concurrencyProps.LeftAnnotations = &[]*awscloudwatch.HorizontalAnnotation{{
			Value: jsii.Number(float64(m.s.AuthorizerReservedConcurrency)), Label: jsii.String("reserved (ceiling)"),
		}}
	}
	// CloudFront publishes in us-east-1 only, with Region=Global.
	cf := func(name, stat string) awscloudwatch.IMetric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/CloudFront"), MetricName: jsii.String(name), Region: jsii.String("us-east-1"),
			DimensionsMap: &map[string]*string{"DistributionId": k.Console.Distribution.DistributionId(), "Region": jsii.String("Global")},
			Statistic:     jsii.String(stat), Period: one,
		})
	}
	var unavailable []awscloudwatch.IMetric
	for _, c := range UnavailableComponents {
		unavailable = append(unavailable, keygateMetric(MetricUnavailable, map[string]string{"Component": c}, "Sum", one))
	}

	rows := [][]awscloudwatch.IWidget{
		{
			awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{
				Markdown: jsii.String(fmt.Sprintf("# keygate (%s)\nAPI Gateway stage, keygate's own metrics (namespace `%s`, CloudWatch Embedded Metric Format), the Lambdas and DynamoDB. Metrics by route, outcome and reason never name a key or a user.", m.s.Stage, MetricsNamespace)),
				Width:    jsii.Number(8), Height: jsii.Number(6),
			}),
			awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
				Title: jsii.String("Alarms"), Alarms: &alarms, Width: jsii.Number(16), Height: jsii.Number(6),
			}),
		},
		{
			graph("API requests and errors", 12,
				stage.MetricCount(opts("Sum")), stage.MetricClientError(opts("Sum")), stage.MetricServerError(opts("Sum"))),
			graph("API latency (p50, p99)", 12,
				stage.MetricLatency(opts("p50")), stage.MetricLatency(opts("p99")),
				stage.MetricIntegrationLatency(opts("p99"))),
		},
		{
			graph("Requests by route and outcome", 12, search(MetricRequests, []string{"Route", "Outcome"}, "Sum", "")),
			graph("429 RateLimited by route", 6, search(MetricRateLimited, []string{"Route"}, "Sum", "")),
			graph("503 Unavailable by component", 6, unavailable...),
		},
		{
			graph("Authorizer denials (401) by reason", 8, search(MetricDenials, []string{"Reason"}, "Sum", "")),
			graph("Store latency p99 by operation (ms)", 8, search(MetricStoreLat, []string{"Operation"}, "p99", "")),
			graph("JWKS fetches by result", 8, search(MetricJWKSFetches, []string{"Result"}, "Sum", "")),
		},
		{
			graph("Authorizer invocations, errors (incl. 401s), throttles", 8,
				auth.MetricInvocations(opts("Sum")), auth.MetricErrors(opts("Sum")), auth.MetricThrottles(opts("Sum"))),
			graph("Authorizer duration (p50, p99)", 8, auth.MetricDuration(opts("p50")), auth.MetricDuration(opts("p99"))),
			awscloudwatch.NewGraphWidget(concurrencyProps),
		},
		{
			graph("Function errors", 8, perFunction(func(n string) awscloudwatch.IMetric {
				return k.Functions[n].MetricErrors(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: one, Label: jsii.String(n)})
			})...),
			graph("Function throttles", 8, perFunction(func(n string) awscloudwatch.IMetric {
				return k.Functions[n].MetricThrottles(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: one, Label: jsii.String(n)})
			})...),
			graph("Function duration p99", 8, perFunction(func(n string) awscloudwatch.IMetric {
				return k.Functions[n].MetricDuration(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: one, Label: jsii.String(n)})
			})...),
		},
		{
			graph("DynamoDB consumed capacity", 8,
				k.Table.MetricConsumedReadCapacityUnits(opts("Sum")), k.Table.MetricConsumedWriteCapacityUnits(opts("Sum"))),
			graph("DynamoDB throttle events", 8,
				k.Table.Metric(jsii.String("ReadThrottleEvents"), opts("Sum")), k.Table.Metric(jsii.String("WriteThrottleEvents"), opts("Sum")),
				indexMetric(k, "ReadThrottleEvents", one), indexMetric(k, "WriteThrottleEvents", one)),
			graph("DynamoDB latency (UpdateItem, GetItem, p99)", 8,
				k.Table.MetricSuccessfulRequestLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: one,
					DimensionsMap: &map[string]*string{"TableName": k.Table.TableName(), "Operation": jsii.String("UpdateItem")}, Label: jsii.String("UpdateItem")}),
				k.Table.MetricSuccessfulRequestLatency(&awscloudwatch.MetricOptions{Statistic: jsii.String("p99"), Period: one,
					DimensionsMap: &map[string]*string{"TableName": k.Table.TableName(), "Operation": jsii.String("GetItem")}, Label: jsii.String("GetItem")})),
		},
	}
	if k.Console != nil {
		rows = append(rows, []awscloudwatch.IWidget{
			graph("Console (CloudFront) requests", 12, cf("Requests", "Sum")),
			graph("Console (CloudFront) error rates (%)", 12, cf("4xxErrorRate", "Average"), cf("5xxErrorRate", "Average")),
		})
	}
	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	return awscloudwatch.NewDashboard(m.scope, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName:   globalName(m.s, ""),
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
		Widgets:         &widgets,
	})
}

// AlarmNames are the stack's alarms in a stable order: the four service
// alarms, then one throttle alarm per Lambda.
func AlarmNames() []string {
	names := []string{"AuthorizerErrors", "Api5xxRate", "Unavailable", "DynamoDBThrottles"}
	for _, n := range LambdaNames {
		names = append(names, lambdaSpecs[n].id+"Throttles")
	}
	return names
}
