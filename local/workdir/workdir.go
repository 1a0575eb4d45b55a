// Package workdir finds what local mode and the dev commands need (tools/,
// console/, .dev/) in the working directory or the nearest directory above it
// that has it, so that they run from anywhere inside the repository.
package workdir

import (
	"errors"
	"os"
	"path/filepath"
)

// ErrNotFound is FindUp's error when no directory up to the root matches.
var ErrNotFound = errors.New("not found above the working directory")

// FindUp returns the first of the working directory and its parents, nearest
// first, for which match is true.
func FindUp(match func(dir string) bool) (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if match(dir) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", ErrNotFound
		}
		dir = parent
	}
}

// Exists reports whether the file or directory at path can be stat'ed.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
