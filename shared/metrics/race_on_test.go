//go:build race

package metrics

// sync.Pool drops items at random under the race detector.
const raceEnabled = true
