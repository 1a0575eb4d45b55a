package e2e

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/keygate/keygate/internal/testenv"
)

// rotations sends one rotation per entry of callers (the request headers of
// each), from goroutines released a few milliseconds apart (so that later
// ones arrive while earlier ones are between their writes), and returns
// every answer. A rotation answered 503 is POSTed again, twice at most, as a
// client retrying would.
// stagger spaces the rotations: a rotation takes some 10-30 ms here, so
// most of them land inside another one's writes.
const stagger = 3 * time.Millisecond

func rotations(t *testing.T, c *testenv.Client, path string, callers []map[string]string, body any) []testenv.Response {
	t.Helper()
	var (
		wg    sync.WaitGroup
		errs  testenv.Errs
		start = make(chan struct{})
		out   = make([]testenv.Response, len(callers))
	)
	for i, headers := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			time.Sleep(time.Duration(i) * stagger)
			for range 3 {
				r, err := c.Try("POST", path, headers, body)
				if err != nil {
					errs.Add(err)
					return
				}
				out[i] = r
				if r.Status != 503 {
					return
				}
			}
		}()
	}
	close(start)
	wg.Wait()
	errs.Check(t)
	return out
}

// checkOneRotationWon: exactly one 201, every other answer 409, and the key
// the 201 returned authenticates (GET /v1/usage 200), as does the old key
// during its grace.
func checkOneRotationWon(t *testing.T, c *testenv.Client, answers []testenv.Response, oldKey string, secret func(testenv.Response) string) {
	t.Helper()
	statuses := map[int]int{}
	var won []string
	for _, r := range answers {
		statuses[r.Status]++
		if r.Status == 201 {
			won = append(won, secret(r))
		} else if r.Status != 409 || r.Code() != "Conflict" {
			t.Errorf("a losing rotation answered %d %s: %s", r.Status, r.Code(), r.Body)
		}
	}
	if len(won) != 1 {
		t.Errorf("%d rotations of one key at once answered %v: want exactly one 201, the others 409", len(answers), statuses)
	}
	for _, k := range won {
		if r := c.Do("GET", "/v1/usage", testenv.Bearer(k), nil); r.Status != 200 {
			t.Errorf("the key a 201 returned does not work: %d %s", r.Status, r.Body)
		}
	}
	if r := c.Do("GET", "/v1/usage", testenv.Bearer(oldKey), nil); r.Status != 200 {
		t.Errorf("the rotated key stopped before its grace ended: %d %s", r.Status, r.Body)
	}
}

// Concurrent rotations of one key (a double click, two members, a client
// retrying): exactly one answers 201 and the key it returned works; the
// others get 409 (found by hostile testing: several 201s, and a successor
// dead on arrival).
func TestConcurrentRotationsOneWinsAndItsKeyWorks(t *testing.T) {
	const rounds, n = 3, 8
	t.Run("/v1", func(t *testing.T) {
		l := newLifecycle(t)
		for round := range rounds {
			old, prefix := l.warm(t, map[string]any{"name": fmt.Sprint("race ", round)})
			callers := make([]map[string]string, n)
			for i := range callers {
				callers[i] = map[string]string{"Authorization": testenv.Bearer(l.tok)}
			}
			answers := rotations(t, l.c, "/v1/api-keys/"+prefix+"/rotate", callers, map[string]any{"gracePeriodSeconds": 600})
			checkOneRotationWon(t, l.c, answers, old, func(r testenv.Response) string {
				s, _ := r.Data()["key"].(string)
				return s
			})
		}
	})
	t.Run("workspace, two members", func(t *testing.T) {
		f := newWorkspace(t, nil)
		for round := range rounds {
			r := f.seed("POST", wsPath(wsID), f.alice, map[string]any{"name": fmt.Sprint("race ", round)})
			testenv.MustBare(t, r, 201, "")
			old, id := r.JSON["key"].(string), r.JSON["id"].(string)
			testenv.Must(t, f.c.Do("GET", "/v1/usage", testenv.Bearer(old), nil), 200, "")
			callers := make([]map[string]string, n)
			for i := range callers {
				tok := f.alice
				if i%2 == 1 {
					tok = f.bob
				}
				callers[i] = map[string]string{"Authorization": testenv.Bearer(tok), "X-Workspace-ID": wsID}
			}
			answers := rotations(t, f.c, wsPath(wsID, "/", id, "/rotate"), callers, map[string]any{"grace_period_seconds": 600})
			checkOneRotationWon(t, f.c, answers, old, func(r testenv.Response) string {
				s, _ := r.JSON["key"].(string)
				return s
			})
		}
	})
}
