package metering

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

// MaxHistoryDays is the longest history a usage report covers.
const MaxHistoryDays = 90

// KeyLister lists an owner's keys with their budgets (keys.Service does).
type KeyLister interface {
	List(ctx context.Context, o keys.Owner, f keys.Filter) ([]keys.Key, error)
}

// BudgetReader reads budgets' archived days (the store does).
type BudgetReader interface {
	History(ctx context.Context, budget, from, to string) (map[string]int, error)
}

// Reporter answers GET /v1/usage.
type Reporter struct {
	Budgets BudgetReader
	Keys    KeyLister
	Clock   clock.Clock
}

// Usage is the usage report of the contract.
type Usage struct {
	Date     string     `json:"date"`
	ResetsAt time.Time  `json:"resetsAt"`
	Keys     []KeyUsage `json:"keys"`
}

// KeyUsage is one budget's state today and its history, shown under the
// newest live key that draws on it (a rotated key and its successor share
// one budget and are shown once).
type KeyUsage struct {
	Prefix     string     `json:"prefix"`
	Name       string     `json:"name"`
	DailyLimit int        `json:"dailyLimit"`
	Used       int        `json:"used"`
	Remaining  int        `json:"remaining"`
	History    []DayUsage `json:"history"`
}

// DayUsage is one day of history.
type DayUsage struct {
	Date string `json:"date"`
	Used int    `json:"used"`
}

// historyConcurrency bounds the per-budget queries of one report.
const historyConcurrency = 8

func (r *Reporter) frame(days int) (Usage, []string, error) {
	if days < 1 || days > MaxHistoryDays {
		return Usage{}, nil, apierr.New(apierr.BadRequest, "Query parameter 'days' must be an integer from 1 to %d.", MaxHistoryDays)
	}
	now := r.Clock.Now()
	u := Usage{Date: clock.Day(now), ResetsAt: clock.NextMidnight(now), Keys: []KeyUsage{}}
	dates := make([]string, days)
	for i := range days {
		dates[i] = clock.Day(now.AddDate(0, 0, i-days+1))
	}
	return u, dates, nil
}

// ReportKey is the report of the key p authenticated with; quota is the
// meter's result for this very request, which counts. The meter's write
// returned the budget's days, so the report reads only the archived ones.
func (r *Reporter) ReportKey(ctx context.Context, p principal.Principal, days int, quota Quota) (Usage, error) {
	u, dates, err := r.frame(days)
	if err != nil {
		return Usage{}, err
	}
	k := KeyUsage{Prefix: p.KeyPrefix, Name: p.KeyName, DailyLimit: quota.Limit}
	counts := map[string]int{}
	if days > 1 {
		b := keys.Budget{Day: clock.Day(quota.At), Used: quota.Used, PrevDay: quota.PrevDay, PrevUsed: quota.PrevUsed}
		if counts, err = r.history(ctx, b, p.Budget, dates); err != nil {
			return Usage{}, fmt.Errorf("usage of %s: %w", p.KeyPrefix, err)
		}
	}
	counts[u.Date] = quota.Used
	fill(&k, dates, counts)
	u.Keys = append(u.Keys, k)
	return u, nil
}

// ReportOwner is the report of o's active keys, one entry per budget.
func (r *Reporter) ReportOwner(ctx context.Context, o keys.Owner, days int) (Usage, error) {
	list, err := r.Keys.List(ctx, o, keys.Filter(keys.Active))
	if err != nil {
		return Usage{}, fmt.Errorf("usage: %w", err)
	}
	return r.ReportKeys(ctx, list, days)
}

// ReportKeys is the report of the given keys (newest first), one entry per
// budget: the operator's view of any key, whatever its status.
func (r *Reporter) ReportKeys(ctx context.Context, list []keys.Key, days int) (Usage, error) {
	u, dates, err := r.frame(days)
	if err != nil {
		return Usage{}, err
	}
	var states []keys.Budget
	seen := map[string]bool{}
	for _, k := range list { // newest first: the successor names a shared budget
		if seen[k.Budget] {
			continue
		}
		seen[k.Budget] = true
		u.Keys = append(u.Keys, KeyUsage{Prefix: k.Prefix, Name: k.Name, DailyLimit: k.DailyLimit})
		states = append(states, k.State)
	}
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, historyConcurrency)
		errs = make([]error, len(u.Keys))
	)
	for i := range u.Keys {
		if days == 1 {
			fill(&u.Keys[i], dates, map[string]int{u.Date: states[i].UsedOn(u.Date)})
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() {
				// The adapter's recover does not reach this goroutine.
				if v := recover(); v != nil {
					errs[i] = apierr.Internal(fmt.Errorf("usage of %s: panic: %v", u.Keys[i].Prefix, v))
				}
				<-sem
				wg.Done()
			}()
			counts, err := r.history(ctx, states[i], states[i].ID, dates)
			if err != nil {
				errs[i] = fmt.Errorf("usage of %s: %w", u.Keys[i].Prefix, err)
				return
			}
			fill(&u.Keys[i], dates, counts)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Usage{}, err
		}
	}
	return u, nil
}

// history merges the archived days with those the budget item still holds.
func (r *Reporter) history(ctx context.Context, b keys.Budget, id string, dates []string) (map[string]int, error) {
	counts, err := r.Budgets.History(ctx, id, dates[0], dates[len(dates)-1])
	if err != nil {
		return nil, err
	}
	for _, d := range []string{b.PrevDay, b.Day} {
		if d != "" {
			counts[d] = b.UsedOn(d)
		}
	}
	return counts, nil
}

func fill(k *KeyUsage, dates []string, counts map[string]int) {
	k.History = make([]DayUsage, len(dates))
	for i, d := range dates {
		k.History[i] = DayUsage{Date: d, Used: counts[d]}
	}
	k.Used = counts[dates[len(dates)-1]]
	k.Remaining = max(0, k.DailyLimit-k.Used)
}
