package secretscan_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/secretscan"
	"github.com/keygate/keygate/shared/secretscan/secretscantest"
)

// TestGitHubPublishedSamplesVerifyAndParse: every signed sample GitHub has
// published (secretscantest.Samples, which says where each comes from)
// opens (signature and report) as GitHub meant it, the oldest one
// without a source member included; a one-byte change anywhere in a payload,
// or the signature under another listed key, is refused as unauthenticated.
func TestGitHubPublishedSamplesVerifyAndParse(t *testing.T) {
	ctx := context.Background()
	gh := secretscantest.New(t)
	gh.PublishSamples()
	v := &secretscan.Verifier{Keys: newSource(gh, clock.NewFixed(t0))}
	for _, s := range secretscantest.Samples {
		t.Run(s.Name+": verifies and parses", func(t *testing.T) {
			ms, err := v.Open(ctx, s.KeyID, s.Signature, []byte(s.Payload))
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if len(ms) != 1 || ms[0] != s.Want {
				t.Fatalf("matches %+v, want [%+v]", ms, s.Want)
			}
		})
		t.Run(s.Name+": any one-byte change is refused", func(t *testing.T) {
			for i := range len(s.Payload) {
				for _, flip := range []byte{0x01, 0x20} {
					b := []byte(s.Payload)
					b[i] ^= flip
					if err := v.Verify(ctx, s.KeyID, s.Signature, b); !errors.Is(err, secretscan.ErrUnauthenticated) {
						t.Fatalf("byte %d ^ %#x: Verify = %v, want ErrUnauthenticated", i, flip, err)
					}
				}
			}
			if err := v.Verify(ctx, s.KeyID, s.Signature, []byte(s.Payload+"\n")); !errors.Is(err, secretscan.ErrUnauthenticated) {
				t.Fatalf("a trailing newline: Verify = %v", err)
			}
		})
		t.Run(s.Name+": under another listed key it is refused", func(t *testing.T) {
			for _, o := range secretscantest.Samples {
				if o.KeyID == s.KeyID {
					continue
				}
				if err := v.Verify(ctx, o.KeyID, s.Signature, []byte(s.Payload)); !errors.Is(err, secretscan.ErrUnauthenticated) {
					t.Fatalf("under %s: Verify = %v", o.KeyID[:8], err)
				}
			}
		})
	}
}
