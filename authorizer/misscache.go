package authorizer

import (
	"sync"
	"time"
)

// MissCache is a small bounded set of key prefixes recently found unknown or
// revoked, each forgotten after a TTL. It holds only negative results, so it
// can never delay a revocation; a prefix becomes known only by being created
// with fresh random bits, which a cached guess almost surely is not.
type MissCache struct {
	mu   sync.Mutex
	m    map[string]time.Time
	size int
	ttl  time.Duration
	now  func() time.Time
}

// NewMissCache holds at most size prefixes for ttl each.
func NewMissCache(size int, ttl time.Duration) *MissCache {
	return &MissCache{m: make(map[string]time.Time, size), size: size, ttl: ttl, now: time.Now}
}

// Contains reports whether prefix was a miss within the TTL. A nil cache
// contains nothing.
func (c *MissCache) Contains(prefix string) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.m[prefix]
	if ok && c.now().After(exp) {
		delete(c.m, prefix)
		return false
	}
	return ok
}

// Add records a miss. When full it drops an arbitrary entry (Go's map order
// is random), which keeps Add O(1) and the memory bounded.
func (c *MissCache) Add(prefix string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[prefix]; !ok && len(c.m) >= c.size {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[prefix] = c.now().Add(c.ttl)
}

// Len is the number of entries held.
func (c *MissCache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
