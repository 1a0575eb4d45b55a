package devfile

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestWriteRead(t *testing.T) {
	root := t.TempDir()
	t.Chdir(root)
	want := Local{Endpoint: "http://127.0.0.1:4567", Table: "keygate-local"}
	if err := Write(want); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, Path))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"endpoint":"http://127.0.0.1:4567","table":"keygate-local"}` {
		t.Fatalf("file is %s", got)
	}
	t.Run("read from a directory below", func(t *testing.T) {
		t.Chdir(filepath.Join(root, ".dev"))
		if got, err := Read(); err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Read() = %+v, %v; want %+v", got, err, want)
		}
	})
	t.Run("an incomplete file is unreadable", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(root, Path), []byte(`{"table":"t"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Read(); err == nil || !strings.HasSuffix(err.Error(), "is unreadable; restart make dev") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestReadNone(t *testing.T) {
	t.Chdir(t.TempDir())
	_, err := Read()
	if err == nil || err.Error() != "no .dev/local.json here or above: is make dev running (in this repository)?" {
		t.Fatalf("err = %v", err)
	}
}

func TestDemoUsers(t *testing.T) {
	t.Chdir(t.TempDir())
	want := Local{Endpoint: "http://127.0.0.1:4567", Table: "keygate-local", Users: []User{
		{Email: "pro@example.com", Sub: "8f1c2d3e-0000-4000-8000-000000000001", Tier: "pro"},
		{Email: "alice@example.com", Sub: "8f1c2d3e-0000-4000-8000-000000000002", Tier: "team", TeamID: "acme"},
	}}
	if err := Write(want); err != nil {
		t.Fatal(err)
	}
	got, err := Read()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Read() = %+v, %v", got, err)
	}
	if u, ok := got.User("Alice@Example.com"); !ok || u.Sub != want.Users[1].Sub {
		t.Fatalf("User(Alice@Example.com) = %+v, %v", u, ok)
	}
	if _, ok := got.User("eve@example.com"); ok {
		t.Fatal("found a user that is not there")
	}
}
