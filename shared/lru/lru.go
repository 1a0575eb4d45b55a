// Package lru is a small bounded cache with least-recently-used eviction and
// a deadline per entry, safe for concurrent use. The authorizer keeps good
// keys and verified tokens in it; what each cache may never hide is stated
// where it is used.
package lru

import (
	"container/list"
	"sync"
	"time"
)

// Cache holds at most Size entries.
type Cache[K comparable, V any] struct {
	mu   sync.Mutex
	size int
	ll   *list.List // front: most recently used
	m    map[K]*list.Element
}

type entry[K comparable, V any] struct {
	key     K
	val     V
	expires time.Time
}

// New returns a cache of at most size entries (at least 1).
func New[K comparable, V any](size int) *Cache[K, V] {
	size = max(size, 1)
	return &Cache[K, V]{size: size, ll: list.New(), m: make(map[K]*list.Element, size)}
}

// Get returns the entry for k unless it is missing or expired at now. A nil
// cache holds nothing.
func (c *Cache[K, V]) Get(k K, now time.Time) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.m[k]
	if !ok {
		return zero, false
	}
	e := el.Value.(*entry[K, V])
	if !now.Before(e.expires) {
		c.ll.Remove(el)
		delete(c.m, k)
		return zero, false
	}
	c.ll.MoveToFront(el)
	return e.val, true
}

// Put stores v for k until expires, evicting the least recently used entry
// when full.
func (c *Cache[K, V]) Put(k K, v V, expires time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[k]; ok {
		e := el.Value.(*entry[K, V])
		e.val, e.expires = v, expires
		c.ll.MoveToFront(el)
		return
	}
	if c.ll.Len() >= c.size {
		// Reuse the least recently used entry: a full cache allocates nothing.
		oldest := c.ll.Back()
		e := oldest.Value.(*entry[K, V])
		delete(c.m, e.key)
		e.key, e.val, e.expires = k, v, expires
		c.ll.MoveToFront(oldest)
		c.m[k] = oldest
		return
	}
	c.m[k] = c.ll.PushFront(&entry[K, V]{key: k, val: v, expires: expires})
}

// Remove forgets k.
func (c *Cache[K, V]) Remove(k K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.m[k]; ok {
		c.ll.Remove(el)
		delete(c.m, k)
	}
}

// Purge forgets everything.
func (c *Cache[K, V]) Purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ll.Init()
	clear(c.m)
}

// Len is the number of entries held, expired ones included.
func (c *Cache[K, V]) Len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
