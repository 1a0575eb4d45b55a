package secretscantest

// Sample is one of GitHub's published signed secret scanning samples.
type Sample struct {
	Name      string
	KeyID     string // Github-Public-Key-Identifier
	PEM       string // the key as GitHub's key list shows it
	Signature string // Github-Public-Key-Signature
	Payload   string // the report body, byte for byte
	Want      Match  // what the report says
}

// Samples are GitHub's published signed samples: each is a key GitHub listed (identifier
// and PEM), a report body and the Github-Public-Key-Signature GitHub's
// documentation shows for it, byte for byte.
//
// Where they come from:
//   - "2021, no source": the partner program page as it was first published
//     (github/docs, content/developers/overview/secret-scanning-partner-program.md,
//     still in its translations), key 90a42116...; its PEM is in GitHub's key
//     list as copied into getsentry/sentry tests/sentry/utils/test_github.py
//     and octokit/octokit.net's PublicKeysClientTests.
//   - "2023, source first": the same page's later sample (also the one
//     getsentry/sentry's test verifies), key bcb53661..., PEM from the same
//     key list.
//   - "docs test key": the current page (github/docs,
//     content/code-security/secret-scanning/secret-scanning-partnership-program/secret-scanning-partner-program.md),
//     signed by the test key whose PEM the page prints, key f9525bf0...
//     (also in rust-lang/crates.io's tests).
var Samples = []Sample{
	{
		Name:      "2021, no source",
		KeyID:     "90a421169f0a406205f1563a953312f0be898d3c7b6c06b681aa86a874555f4a",
		PEM:       "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE9MJJHnMfn2+H4xL4YaPDA4RpJqUq\nkCmRCBnYERxZanmcpzQSXs1X/AljlKkbJ8qpVIW4clayyef9gWhFbNHWAA==\n-----END PUBLIC KEY-----\n",
		Signature: "MEUCIQDKZokqnCjrRtw0tni+2Ltvl/uiMJ1EGumEsp1BsNr32AIgQY1YXD2nlj+XNfGK4rBfkMJ1JDOQcYXxa2sY8FNkrKc=",
		Payload:   `[{"token":"some_token","type":"some_type","url":"some_url"}]`,
		Want:      Match{Token: "some_token", Type: "some_type", URL: "some_url"},
	},
	{
		Name:      "2023, source first",
		KeyID:     "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c",
		PEM:       "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEYAGMWO8XgCamYKMJS6jc/qgvSlAd\nAjPuDPRcXU22YxgBrz+zoN19MzuRyW87qEt9/AmtoNP5GrobzUvQSyJFVw==\n-----END PUBLIC KEY-----\n",
		Signature: "MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg==",
		Payload:   `[{"source":"commit","token":"some_token","type":"some_type","url":"https://example.com/base-repo-url/"}]`,
		Want:      Match{Token: "some_token", Type: "some_type", URL: "https://example.com/base-repo-url/", Source: "commit"},
	},
	{
		Name:      "docs test key",
		KeyID:     "f9525bf080f75b3506ca1ead061add62b8633a346606dc5fe544e29231c6ee0d",
		PEM:       "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsz9ugWDj5jK5ELBK42ynytbo38gP\nHzZFI03Exwz8Lh/tCfL3YxwMdLjB+bMznsanlhK0RwcGP3IDb34kQDIo3Q==\n-----END PUBLIC KEY-----",
		Signature: "MEUCIFLZzeK++IhS+y276SRk2Pe5LfDrfvTXu6iwKKcFGCrvAiEAhHN2kDOhy2I6eGkOFmxNkOJ+L2y8oQ9A2T9GGJo6WJY=",
		Payload:   `[{"token":"some_token","type":"some_type","url":"some_url","source":"some_source"}]`,
		Want:      Match{Token: "some_token", Type: "some_type", URL: "some_url", Source: "some_source"},
	},
}

// PublishSamples lists the keys of Samples, as GitHub's key list did.
func (g *GitHub) PublishSamples() {
	for _, s := range Samples {
		g.PublishRaw(s.KeyID, s.PEM)
	}
}
