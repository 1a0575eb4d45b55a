package dynamo_test

import (
	"context"
	"errors"
	"testing"

	"github.com/keygate/keygate/internal/testenv"
	"github.com/keygate/keygate/shared/keys"
)

// A void prefix (a rotation's successor that never came) can never hold a
// key, reads as not found, takes no update and is never listed; a stored key
// cannot be voided.
func TestVoidPrefix(t *testing.T) {
	ctx := context.Background()
	st := testenv.Store(t)
	_, void := record(t, alice, t0)
	_, kept := record(t, alice, t0)
	if err := st.PutKey(ctx, kept); err != nil {
		t.Fatal(err)
	}
	if err := st.VoidPrefix(ctx, void.Prefix, t0); err != nil {
		t.Fatalf("void a free prefix: %v", err)
	}
	t.Run("voiding it again succeeds", func(t *testing.T) {
		if err := st.VoidPrefix(ctx, void.Prefix, t0); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a stored key cannot be voided", func(t *testing.T) {
		if err := st.VoidPrefix(ctx, kept.Prefix, t0); !errors.Is(err, keys.ErrPrefixTaken) {
			t.Fatalf("got %v, want ErrPrefixTaken", err)
		}
		if _, err := st.GetKey(ctx, kept.Prefix); err != nil {
			t.Fatalf("the key after a refused void: %v", err)
		}
	})
	t.Run("no key can be stored under it", func(t *testing.T) {
		if err := st.PutKey(ctx, void); !errors.Is(err, keys.ErrPrefixTaken) {
			t.Fatalf("got %v, want ErrPrefixTaken", err)
		}
	})
	t.Run("it reads as not found and takes no update", func(t *testing.T) {
		if _, err := st.GetKey(ctx, void.Prefix); !errors.Is(err, keys.ErrNotFound) {
			t.Fatalf("get: %v, want ErrNotFound", err)
		}
		if _, err := st.UpdateKey(ctx, void.Prefix, keys.KeyChange{UpdatedAt: t0}); !errors.Is(err, keys.ErrConflict) {
			t.Fatalf("update: %v, want ErrConflict", err)
		}
	})
	t.Run("it is never listed", func(t *testing.T) {
		list, err := st.ListKeys(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) != 1 || list[0].Prefix != kept.Prefix {
			t.Fatalf("listed %+v, want the one stored key", list)
		}
	})
}
