// Package e2e drives the whole local API over real HTTP: the local gateway,
// the authorizer, every route handler and the meter, on dynalite, with tokens
// from the dev issuer's JWKS. Its tests are the contract's error table, key
// management, metering and usage, end to end.
package e2e
