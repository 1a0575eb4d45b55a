package lru_test

import (
	"testing"
	"time"

	"github.com/keygate/keygate/shared/lru"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func TestCache(t *testing.T) {
	t.Run("an entry is served until its deadline, not at it", func(t *testing.T) {
		c := lru.New[string, int](4)
		c.Put("a", 1, t0.Add(time.Second))
		if v, ok := c.Get("a", t0); !ok || v != 1 {
			t.Fatalf("got %v %v", v, ok)
		}
		if _, ok := c.Get("a", t0.Add(time.Second)); ok {
			t.Fatal("served at its deadline")
		}
		if c.Len() != 0 {
			t.Fatal("expired entry kept")
		}
	})
	t.Run("the least recently used entry goes first", func(t *testing.T) {
		c := lru.New[string, int](2)
		far := t0.Add(time.Hour)
		c.Put("a", 1, far)
		c.Put("b", 2, far)
		c.Get("a", t0)
		c.Put("c", 3, far)
		if _, ok := c.Get("b", t0); ok {
			t.Fatal("b should have been evicted")
		}
		if _, ok := c.Get("a", t0); !ok {
			t.Fatal("a was used recently and must stay")
		}
		if c.Len() != 2 {
			t.Fatalf("len %d", c.Len())
		}
	})
	t.Run("put replaces, remove and purge forget", func(t *testing.T) {
		c := lru.New[string, int](2)
		c.Put("a", 1, t0.Add(time.Hour))
		c.Put("a", 2, t0.Add(time.Hour))
		if v, _ := c.Get("a", t0); v != 2 || c.Len() != 1 {
			t.Fatalf("got %d len %d", v, c.Len())
		}
		c.Remove("a")
		c.Put("b", 1, t0.Add(time.Hour))
		c.Purge()
		if c.Len() != 0 {
			t.Fatal("purge kept entries")
		}
	})
	t.Run("a nil cache holds nothing", func(t *testing.T) {
		var c *lru.Cache[string, int]
		c.Put("a", 1, t0.Add(time.Hour))
		if _, ok := c.Get("a", t0); ok || c.Len() != 0 {
			t.Fatal("nil cache returned something")
		}
	})
}
