// Package apikey is the format of keygate API keys: csk_live_ followed by 32
// lowercase hex characters (128 bits from crypto/rand). The first 17
// characters are the key's public prefix; only a SHA-256 hash of the whole
// key is ever stored.
package apikey

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"unsafe"
)

const (
	// Scheme starts every keygate credential; a bearer credential that starts
	// with it is always treated as a key, never as a JWT.
	Scheme = "csk_"
	// Live is the literal start of every key issued today.
	Live = "csk_live_"
	// Len is the length of a whole key.
	Len = len(Live) + 32
	// PrefixLen is the length of the public prefix: csk_live_ plus 8 hex.
	PrefixLen = len(Live) + 8
)

// ErrMalformed reports a credential that is not a well-formed key.
var ErrMalformed = errors.New("malformed API key")

// Key is a whole API key. Its String is the secret: it is returned once, at
// creation, and never logged.
type Key struct{ s string }

// Hash is the SHA-256 of a whole key, the only form in which it is stored.
type Hash [sha256.Size]byte

// Generate makes a new key from r (crypto/rand.Reader in production).
func Generate(r io.Reader) (Key, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return Key{}, err
	}
	var buf [Len]byte
	copy(buf[:], Live)
	hex.Encode(buf[len(Live):], b[:])
	return Key{s: string(buf[:])}, nil
}

// New generates a key from crypto/rand.
func New() (Key, error) { return Generate(rand.Reader) }

// Parse accepts exactly csk_live_ + 32 lowercase hex characters.
func Parse(s string) (Key, error) {
	if len(s) != Len || !strings.HasPrefix(s, Live) {
		return Key{}, ErrMalformed
	}
	for i := len(Live); i < Len; i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return Key{}, ErrMalformed
		}
	}
	return Key{s: s}, nil
}

// String returns the secret key. Only the create response may carry it.
func (k Key) String() string { return k.s }

// Prefix is the key's public identifier.
func (k Key) Prefix() string { return k.s[:PrefixLen] }

// Hash returns the SHA-256 of the whole key. The key is hashed in place
// (read, never kept): this runs on every key request.
func (k Key) Hash() Hash { return sha256.Sum256(unsafe.Slice(unsafe.StringData(k.s), len(k.s))) }

// Matches reports in constant time whether h is this key's hash.
func (k Key) Matches(h Hash) bool {
	sum := k.Hash()
	return subtle.ConstantTimeCompare(sum[:], h[:]) == 1
}

// ValidPrefix reports whether p has the shape of a key prefix. Route
// handlers use it so a garbled path answers 404 without a store read.
func ValidPrefix(p string) bool {
	if len(p) != PrefixLen || !strings.HasPrefix(p, Live) {
		return false
	}
	for i := len(Live); i < PrefixLen; i++ {
		c := p[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
