// Package devgithub is local mode's stand-in for GitHub's side of the secret
// scanning partner program: a P-256 signing key made at start, published in
// the format of GitHub's key list (what KEYGATE_GITHUB_KEYS_URL points at), and
// reports signed with it the way GitHub signs them (base64 of an ASN.1 DER
// ECDSA signature over SHA-256 of the raw body). `make dev` serves the list, so
// a leak report to local mode never fetches anything from the internet, and
// `keygate-dev report-leak` sends one. Nothing here talks to GitHub.
package devgithub

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
)

// KeysPath is where the key list is served, as on GitHub's API.
const KeysPath = "/meta/public_keys/secret_scanning"

// ReportPath is keygate's secret scanning route.
const ReportPath = "/v1/secret-scanning/github"

// TokenType is the secret type keygate registers with GitHub.
const TokenType = "keygate_api_key"

// Signer is the local signing key and its identifier.
type Signer struct {
	ID  string // 64 hex, like GitHub's: the SHA-256 of the public key's DER
	Key *ecdsa.PrivateKey
}

// New makes a fresh P-256 key.
func New() (*Signer, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return signer(k)
}

func signer(k *ecdsa.PrivateKey) (*Signer, error) {
	der, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(der)
	return &Signer{ID: hex.EncodeToString(sum[:]), Key: k}, nil
}

// keyList is GitHub's document at meta/public_keys/secret_scanning.
type keyList struct {
	PublicKeys []listedKey `json:"public_keys"`
}

type listedKey struct {
	KeyIdentifier string `json:"key_identifier"`
	Key           string `json:"key"`
	IsCurrent     bool   `json:"is_current"`
}

// KeyList is the key list document: this key, current.
func (s *Signer) KeyList() ([]byte, error) {
	der, err := x509.MarshalPKIXPublicKey(&s.Key.PublicKey)
	if err != nil {
		return nil, err
	}
	pub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	return json.Marshal(keyList{PublicKeys: []listedKey{{KeyIdentifier: s.ID, Key: string(pub), IsCurrent: true}}})
}

// Handler serves the key list at KeysPath.
func (s *Signer) Handler() http.Handler {
	body, err := s.KeyList()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+KeysPath, func(w http.ResponseWriter, r *http.Request) {
		if err != nil {
			http.Error(w, `{"message":"key list unavailable"}`, http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	return mux
}

// Sign is the Github-Public-Key-Signature value for body.
func (s *Signer) Sign(body []byte) (string, error) {
	digest := sha256.Sum256(body)
	sig, err := ecdsa.SignASN1(rand.Reader, s.Key, digest[:])
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(sig), nil
}

// Match is one item of a report, as GitHub sends it.
type Match struct {
	Token  string `json:"token"`
	Type   string `json:"type"`
	URL    string `json:"url"`
	Source string `json:"source"`
}

// Report renders matches as a report body.
func Report(ms ...Match) ([]byte, error) {
	if ms == nil {
		ms = []Match{}
	}
	return json.Marshal(ms)
}

// Send posts body, signed, to the secret scanning route of the API at
// apiURL (the gateway, e.g. http://127.0.0.1:8080), and returns the status
// and the answer.
func (s *Signer) Send(ctx context.Context, client *http.Client, apiURL string, body []byte) (int, []byte, error) {
	sig, err := s.Sign(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, apiURL+ReportPath, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Github-Public-Key-Identifier", s.ID)
	req.Header.Set("Github-Public-Key-Signature", sig)
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, b, err
}

// Save writes the private key to path as PEM, readable by its owner only
// (0600), replacing any file there.
func (s *Signer) Save(path string) error {
	der, err := x509.MarshalPKCS8PrivateKey(s.Key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".tmp"
	_ = os.Remove(tmp)
	if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// Load reads a key Save wrote.
func Load(path string) (*Signer, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("%s holds no PEM private key", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New(path + " is not a P-256 key")
	}
	return signer(ec)
}
