// Package app builds keygate's parts from a Config once per process: the
// DynamoDB client and store, the key service, the meter and the usage
// reporter. Every Lambda's main and local mode wire through it, so they read
// the same settings the same way.
package app

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/keygate/keygate/shared/audit"
	"github.com/keygate/keygate/shared/auditbus"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/cognito"
	"github.com/keygate/keygate/shared/config"
	"github.com/keygate/keygate/shared/dynamo"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/metrics"
)

// App is everything a keygate Lambda needs.
type App struct {
	Config config.Config
	Log    *slog.Logger
	Clock  clock.Clock
	Store  *dynamo.Store
	Keys   *keys.Service
	Meter  *metering.Meter
	Usage  *metering.Reporter
	// Audit is the audit log on the same table; Limits and Expiry are the
	// notices keygate records itself (key.limit_reached, key.expiring).
	Audit  *audit.Log
	Limits *keys.LimitNotices
	Expiry *keys.ExpiryNotices
}

// New wires an App. clk may be nil for the system clock; dbOpts adjust the
// DynamoDB client, which always records StoreLatency (metrics).
func New(ctx context.Context, cfg config.Config, log *slog.Logger, clk clock.Clock, dbOpts ...func(*dynamodb.Options)) (*App, error) {
	if clk == nil {
		clk = clock.System{}
	}
	if log == nil {
		log = slog.Default()
	}
	metrics.RegisterRoutes(cfg.Routes)
	dbOpts = append([]func(*dynamodb.Options){metrics.DynamoDBOption()}, dbOpts...)
	db, err := dynamo.NewClient(ctx, cfg.DynamoDBEndpoint, dbOpts...)
	if err != nil {
		return nil, fmt.Errorf("dynamodb client: %w", err)
	}
	store := dynamo.New(db, cfg.Table)
	store.Timeout = cfg.StoreTimeout
	auditLog := &audit.Log{Store: store, Verifier: keys.AuditVerifier{State: store}, Clock: clk, Retention: cfg.AuditRetention, Log: log}
	svc := &keys.Service{Store: store, Clock: clk, Limits: cfg.Limits, Scopes: cfg.AllRoutes(), Leaks: keys.LeakAction(cfg.LeakedKeyAction),
		Audit: auditLog, Log: log}
	limits := &keys.LimitNotices{Marks: store, Audit: auditLog}
	return &App{
		Config: cfg,
		Log:    log,
		Clock:  clk,
		Store:  store,
		Keys:   svc,
		Meter:  &metering.Meter{Counter: store, Clock: clk, Notices: limits, Log: log},
		Usage:  &metering.Reporter{Budgets: store, Keys: svc, Clock: clk},
		Audit:  auditLog,
		Limits: limits,
		Expiry: &keys.ExpiryNotices{Keys: store, Index: store, Audit: auditLog, Now: clk.Now},
	}, nil
}

// Publisher builds the EventBridge publisher of audit events on the
// configured bus (KEYGATE_EVENT_BUS, and KEYGATE_EVENTBRIDGE_ENDPOINT
// locally).
func (a *App) Publisher(ctx context.Context) (*auditbus.Publisher, error) {
	if a.Config.EventBus == "" {
		return nil, fmt.Errorf("%s is not set: the EventBridge bus audit events go to", config.EnvEventBus)
	}
	client, err := auditbus.NewClient(ctx, a.Config.EventBridgeEndpoint)
	if err != nil {
		return nil, fmt.Errorf("eventbridge client: %w", err)
	}
	return &auditbus.Publisher{Client: client, Bus: a.Config.EventBus}, nil
}

// Verifier starts the Cognito token verifier of the configured issuers.
// o may adjust the options (tests shorten the refetch interval).
func (a *App) Verifier(ctx context.Context, o ...func(*cognito.Options)) (*cognito.Verifier, error) {
	opts := cognito.Options{
		Issuers:   a.Config.Issuers,
		JWKSURL:   a.Config.JWKSURL,
		ClientIDs: a.Config.ClientIDs,
		Now:       a.Clock.Now,
		Log:       a.Log,
		OnFetch:   func(ok bool) { metrics.JWKSFetch(context.Background(), ok) },
	}
	for _, f := range o {
		f(&opts)
	}
	return cognito.New(ctx, opts)
}

// FromEnv loads the Config from the environment and wires an App with the
// system clock.
func FromEnv(ctx context.Context, log *slog.Logger) (*App, error) {
	cfg, err := config.Load()
	if err != nil {
		return nil, err
	}
	return New(ctx, cfg, log, nil)
}
