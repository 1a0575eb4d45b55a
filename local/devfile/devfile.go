// Package devfile is .dev/local.json, the file in which `make dev`
// (cmd/keygate-dev) says which table and DynamoDB endpoint it serves, so that
// `keygate-admin --local` works on that stack, and where its API and its
// stand-in for GitHub's signing key are, for `keygate-dev report-leak`. Both
// sides use this package, so the format has one definition.
package devfile

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/keygate/keygate/local/workdir"
)

// Path is where make dev writes the file, relative to its working directory.
const Path = ".dev/local.json"

// Local is the file's content.
type Local struct {
	Endpoint string `json:"endpoint"`
	Table    string `json:"table"`
	// API is the local gateway's URL.
	API string `json:"api,omitempty"`
	// GitHubKeyFile is the absolute path of the private key (0600) of the
	// stand-in for GitHub's key list, and GitHubKeyID its identifier; empty
	// when KEYGATE_GITHUB_KEYS_URL names another list.
	GitHubKeyFile string `json:"githubKeyFile,omitempty"`
	GitHubKeyID   string `json:"githubKeyId,omitempty"`
	// Users are the console's demo users, in the pool that is the stack's
	// primary issuer (whose subs are owner ids as they are), so that
	// keygate-admin --local takes a demo user's email for --user.
	Users []User `json:"users,omitempty"`
}

// User is a demo user: the email they sign in with and their sub.
type User struct {
	Email  string `json:"email"`
	Sub    string `json:"sub"`
	Tier   string `json:"tier,omitempty"`
	TeamID string `json:"teamId,omitempty"`
}

// User finds a demo user by email (case-insensitive, as Cognito signs in).
func (l Local) User(email string) (User, bool) {
	for _, u := range l.Users {
		if strings.EqualFold(u.Email, email) {
			return u, true
		}
	}
	return User{}, false
}

// GitHubKeyPath is where make dev writes the GitHub stand-in's signing key,
// relative to its working directory, readable by its owner only.
const GitHubKeyPath = ".dev/github-signing-key.pem"

// Write writes l to Path in the working directory.
func Write(l Local) error { return WriteIn(".", l) }

// WriteIn writes l to Path under dir.
func WriteIn(dir string, l Local) error {
	b, err := json.Marshal(l)
	if err != nil {
		return err
	}
	p := filepath.Join(dir, Path)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, b, 0o644)
}

// Read reads Path from the working directory or the nearest directory above
// it that has one.
func Read() (Local, error) {
	var b []byte
	dir, err := workdir.FindUp(func(dir string) bool {
		var err error
		b, err = os.ReadFile(filepath.Join(dir, Path))
		return err == nil
	})
	if err != nil {
		return Local{}, fmt.Errorf("no %s here or above: is make dev running (in this repository)?", Path)
	}
	var l Local
	if err := json.Unmarshal(b, &l); err != nil || l.Table == "" || l.Endpoint == "" {
		return Local{}, fmt.Errorf("%s is unreadable; restart make dev", filepath.Join(dir, Path))
	}
	return l, nil
}
