package cognitolocal_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/keygate/keygate/local/cognitolocal"
	"github.com/keygate/keygate/local/lambdainvoke"
	"github.com/keygate/keygate/shared/cognito"
	"github.com/keygate/keygate/shared/cognito/pretoken"
	"github.com/keygate/keygate/shared/principal"
)

// recorder is keygate's real trigger behind a tap that keeps the raw events
// cognito-local sends it.
type recorder struct {
	mu     sync.Mutex
	events []map[string]any
}

func (r *recorder) handle(ctx context.Context, raw json.RawMessage) (events.CognitoEventUserPoolsPreTokenGenV2_0, error) {
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	r.mu.Lock()
	r.events = append(r.events, m)
	r.mu.Unlock()
	var ev events.CognitoEventUserPoolsPreTokenGenV2_0
	if err := json.Unmarshal(raw, &ev); err != nil {
		return ev, err
	}
	return pretoken.Handle(ctx, ev)
}

func claims(t *testing.T, tok string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, payload
}

// TestWhatCognitoLocalDoes pins down, against the running emulator, every
// behaviour the package doc states.
func TestWhatCognitoLocalDoes(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	fns := lambdainvoke.New(map[string]any{"pretokengen": rec.handle}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	lambdaSrv := httptest.NewServer(fns)
	defer lambdaSrv.Close()
	s, err := cognitolocal.Start(ctx, cognitolocal.Options{LambdaEndpoint: lambdaSrv.URL, PreTokenGeneration: "pretokengen"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	user := cognitolocal.User{Email: "pro@example.com", Password: "Local-Passw0rd!", Tier: "pro", TeamID: "team-1"}
	pool, err := s.EnsurePool(ctx, cognitolocal.PoolSpec{Name: "keygate-test", Client: "console", Users: []cognitolocal.User{user}})
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.EnsurePool(ctx, cognitolocal.PoolSpec{Name: "keygate-test", Client: "console", Users: []cognitolocal.User{user}})
	if err != nil || again != pool {
		t.Fatalf("EnsurePool is not idempotent: %v %+v %+v", err, again, pool)
	}
	access, id, err := s.SignIn(ctx, pool.ClientID, user.Email, user.Password)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("Sub is the sub of the user's tokens", func(t *testing.T) {
		sub, err := s.Sub(ctx, pool.ID, user.Email)
		if err != nil {
			t.Fatal(err)
		}
		for _, tok := range []string{access, id} {
			if _, c := claims(t, tok); c["sub"] != sub {
				t.Errorf("token sub %v, Sub %q", c["sub"], sub)
			}
		}
	})
	t.Run("USER_SRP_AUTH is not supported", func(t *testing.T) {
		_, err := s.Client().InitiateAuth(ctx, &cip.InitiateAuthInput{
			ClientId: aws.String(pool.ClientID), AuthFlow: types.AuthFlowTypeUserSrpAuth,
			AuthParameters: map[string]string{"USERNAME": user.Email, "SRP_A": "abcd"},
		})
		if err == nil || !strings.Contains(err.Error(), "unsupported") {
			t.Fatalf("err = %v, want cognito-local's unsupported error", err)
		}
	})
	t.Run("issuer is the endpoint plus the pool id, key shipped in the package", func(t *testing.T) {
		for _, tok := range []string{access, id} {
			h, c := claims(t, tok)
			if c["iss"] != s.Endpoint+"/"+pool.ID || h["kid"] != "CognitoLocal" || h["alg"] != "RS256" {
				t.Errorf("header %v, iss %v", h, c["iss"])
			}
		}
	})
	t.Run("JWKS at <issuer>/.well-known/jwks.json", func(t *testing.T) {
		resp, err := http.Get(pool.Issuer + "/.well-known/jwks.json")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var set struct{ Keys []map[string]string }
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil || len(set.Keys) != 1 || set.Keys[0]["kid"] != "CognitoLocal" {
			t.Fatalf("%v %v", err, set)
		}
	})
	t.Run("access token: client_id and token_use, no custom attribute even with the trigger", func(t *testing.T) {
		_, c := claims(t, access)
		if c["token_use"] != "access" || c["client_id"] != pool.ClientID || c["sub"] == nil {
			t.Errorf("claims %v", c)
		}
		for k := range c {
			if strings.HasPrefix(k, "custom:") {
				t.Errorf("access token carries %s", k)
			}
		}
	})
	t.Run("ID token: aud and every custom attribute", func(t *testing.T) {
		_, c := claims(t, id)
		if c["token_use"] != "id" || c["aud"] != pool.ClientID || c["custom:tier"] != "pro" || c["custom:teamId"] != "team-1" || c["email"] != user.Email {
			t.Errorf("claims %v", c)
		}
	})
	t.Run("trigger called with a V1-shaped event, version 0", func(t *testing.T) {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if len(rec.events) != 1 {
			t.Fatalf("%d invocations, want 1", len(rec.events))
		}
		ev := rec.events[0]
		req, _ := ev["request"].(map[string]any)
		attrs, _ := req["userAttributes"].(map[string]any)
		resp, _ := ev["response"].(map[string]any)
		_, v1 := resp["claimsOverrideDetails"]
		_, v2 := resp["claimsAndScopeOverrideDetails"]
		if ev["version"] != "0" || ev["triggerSource"] != "TokenGeneration_Authentication" || attrs["custom:tier"] != "pro" || !v1 || v2 {
			t.Errorf("event %v", ev)
		}
		if _, ok := req["scopes"]; ok {
			t.Errorf("V2's request.scopes present: %v", req)
		}
	})
	t.Run("keygate's verifier accepts both tokens; only the ID token is pro", func(t *testing.T) {
		v, err := cognito.New(ctx, cognito.Options{Issuers: []string{pool.Issuer}, ClientIDs: []string{pool.ClientID}})
		if err != nil {
			t.Fatal(err)
		}
		pa, err := v.Verify(access)
		if err != nil {
			t.Fatal(err)
		}
		pi, err := v.Verify(id)
		if err != nil {
			t.Fatal(err)
		}
		if pa.Tier != principal.Free || pi.Tier != principal.Pro || pi.TeamID != "team-1" || pa.Sub != pi.Sub {
			t.Errorf("access %+v, id %+v", pa, pi)
		}
	})
}
