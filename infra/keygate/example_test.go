package keygate_test

import (
	"log"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigateway"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/keygate/keygate/examples/reports"
	"github.com/keygate/keygate/infra/keygate"
)

// A product's stack: its own REST API, keygate on it, and one Lambda serving
// two routes behind keygate's authorizer and meter. The example product's
// CDK app (examples/reports/cdk) is the complete version, with its tests.
func Example() {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("Reports-dev"), nil)

	settings, err := keygate.SettingsFromContext(app.Node()) // -c stage=prod, -c allowedOrigins=...
	if err != nil {
		log.Fatal(err)
	}
	api := awsapigateway.NewRestApi(stack, jsii.String("Api"), &awsapigateway.RestApiProps{
		DeployOptions: &awsapigateway.StageOptions{StageName: jsii.String(settings.Stage)},
	})
	kg, err := keygate.New(stack, "Keygate", &keygate.Props{
		RestApi:  api,
		Settings: settings,
		BuildDir: "keygate/build", // keygate's Lambdas, `make build` in keygate's repository
	})
	if err != nil {
		log.Fatal(err)
	}

	// The product's Lambda, built its own way: here a Go bootstrap running
	// guard.Start.
	reportsFn := awslambda.NewFunction(stack, jsii.String("Reports"), &awslambda.FunctionProps{
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String("bootstrap"),
		Code:         awslambda.Code_FromAsset(jsii.String("build/reports"), nil),
	})
	// The routes are declared once, in a package the Lambda and keygate's
	// local mode read too (examples/reports/routes.go): a route.Table of
	// method, path, scope and cost.
	for _, rt := range reports.Routes {
		if _, err := kg.AddRoute(rt, reportsFn); err != nil {
			log.Fatal(err)
		}
	}
	app.Synth(nil)
}
