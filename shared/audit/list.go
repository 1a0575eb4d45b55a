package audit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"regexp"
	"strings"

	"github.com/keygate/keygate/shared/apierr"
)

// Page sizes of a listing.
const (
	DefaultLimit = 50
	MaxLimit     = 100
)

// Query selects a page of an owner's log.
type Query struct {
	// Limit is the page size, 1..MaxLimit (0: DefaultLimit).
	Limit int
	// Cursor is the previous page's Next ("" from the newest).
	Cursor string
	// KeyPrefix keeps only the records of one key (the operator's view).
	KeyPrefix string
}

// Page is part of an owner's log, newest first.
type Page struct {
	Records []Record
	// Next continues the listing; "" at the end.
	Next string
}

// List reads a page of o's log, newest first. Intents it meets that are due
// are resolved on the way (kept as records, or dropped); younger ones belong
// to requests still running and are not shown. Errors: BadRequest for a
// limit out of range or a cursor that is not one of o's log (a cursor never
// moves a listing into another owner's log: it only holds a position in the
// log it came from, bound to that owner), or the store's.
func (l *Log) List(ctx context.Context, o Owner, q Query) (Page, error) {
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return Page{}, apierr.New(apierr.BadRequest, "Query parameter 'limit' must be a whole number from 1 to %d.", MaxLimit)
	}
	after := ""
	if q.Cursor != "" {
		var err error
		if after, err = decodeCursor(o, q.Cursor); err != nil {
			return Page{}, err
		}
	}
	now := l.now()
	var out []Record
	var last []string // positions of out
	for {
		items, end, more, err := l.Store.Page(ctx, o, after, q.Limit+1-len(out), q.KeyPrefix)
		if err != nil {
			return Page{}, err
		}
		for _, it := range items {
			r, ok := it.Record, it.State == StateFinal
			if it.State == StatePending && !now.Before(it.Due) {
				var err error
				if r, ok, err = l.resolve(ctx, it); err != nil {
					l.log().WarnContext(ctx, "resolve audit intent while listing", "error", err)
					ok = false
				}
			}
			if ok {
				r.Owner = o
				out, last = append(out, r), append(last, it.Pos)
			}
		}
		after = end
		if !more || len(out) > q.Limit {
			break
		}
	}
	p := Page{Records: out}
	if len(out) > q.Limit {
		p.Records = out[:q.Limit]
		p.Next = encodeCursor(o, last[q.Limit-1])
	}
	return p, nil
}

// ownerTag binds a cursor to its owner's log: not a secret (a cursor only
// positions a listing within the caller's own log), but a cursor from another
// log is refused rather than silently read as a position in this one.
func ownerTag(o Owner) string {
	h := sha256.Sum256([]byte(o.Kind + "#" + o.ID))
	return hex.EncodeToString(h[:6])
}

const cursorVersion = "a1"

// posPattern is a position as position() writes it.
var posPattern = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ#\d{19}#[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func encodeCursor(o Owner, pos string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(cursorVersion + "." + ownerTag(o) + "." + pos))
}

func decodeCursor(o Owner, c string) (string, error) {
	bad := apierr.New(apierr.BadRequest, "Query parameter 'cursor' is not a cursor of this audit log; pass the cursor the previous page gave (nextCursor, or next_cursor on the workspace API) unchanged.")
	if len(c) > 200 {
		return "", bad
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return "", bad
	}
	version, rest, ok1 := strings.Cut(string(b), ".")
	tag, pos, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || version != cursorVersion || tag != ownerTag(o) || !posPattern.MatchString(pos) {
		return "", bad
	}
	return pos, nil
}
