package keys

import (
	"context"
	"fmt"

	"github.com/keygate/keygate/shared/audit"
)

// intent is one change's audit record in the making (see audit.go): nil
// when the service has no log (tests of the domain alone).
type intent struct{ p []*audit.Pending }

// begin writes the intents of events right before their change's first
// write; an error is the request's answer and nothing is written.
func (s *Service) begin(ctx context.Context, events ...audit.Event) (intent, error) {
	if s.Audit == nil || len(events) == 0 {
		return intent{}, nil
	}
	ps, err := s.Audit.BeginAll(ctx, events)
	if err != nil {
		return intent{}, fmt.Errorf("audit: %w", err)
	}
	return intent{ps}, nil
}

// commit finalizes every record after the change's commit point; key, when
// set, is the key as the change left it (a create's prefix). A failure is
// logged by the log and resolved once due: the change stands.
func (in intent) commit(ctx context.Context, key *audit.KeyRef) {
	for i, p := range in.p {
		if i == 0 && key != nil {
			_ = p.CommitKey(ctx, key, nil)
			continue
		}
		_ = p.Commit(ctx, nil)
	}
}

// commitChanges finalizes one record with the changes that were made.
func (in intent) commitChanges(ctx context.Context, changes audit.Changes) {
	for _, p := range in.p {
		_ = p.Commit(ctx, changes)
	}
}

// abort withdraws the intents of a change that was refused before any of
// its writes landed.
func (in intent) abort(ctx context.Context) {
	for _, p := range in.p {
		_ = p.Abort(ctx)
	}
}
