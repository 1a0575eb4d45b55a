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

// KeyLister lists an owner's keys (keys.Store does).
type KeyLister interface {
	ListKeys(ctx context.Context, owner string) ([]keys.Record, error)
}

// Reporter answers GET /v1/usage.
type Reporter struct {
	Counter Counter
	Keys    KeyLister
	Clock   clock.Clock
}

// Usage is the usage report of the contract.
type Usage struct {
	Date     string     `json:"date"`
	ResetsAt time.Time  `json:"resetsAt"`
	Keys     []KeyUsage `json:"keys"`
}

// KeyUsage is one key's budget today and its history.
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

// historyConcurrency bounds the per-key queries of one report.
const historyConcurrency = 8

// Report builds p's usage over the last days UTC days, today included. For a
// key, quota is the meter's result for this very request, which counts.
func (r *Reporter) Report(ctx context.Context, p principal.Principal, days int, quota Quota) (Usage, error) {
	if days < 1 || days > MaxHistoryDays {
		return Usage{}, apierr.New(apierr.BadRequest, "Query parameter 'days' must be an integer from 1 to %d.", MaxHistoryDays)
	}
	now := r.Clock.Now()
	today := clock.Day(now)
	u := Usage{Date: today, ResetsAt: clock.NextMidnight(now), Keys: []KeyUsage{}}
	dates := make([]string, days)
	for i := range days {
		dates[i] = clock.Day(now.AddDate(0, 0, i-days+1))
	}

	if p.Method == principal.ViaKey {
		k := KeyUsage{Prefix: p.KeyPrefix, Name: p.KeyName, DailyLimit: p.DailyLimit}
		counts := map[string]int{}
		if days > 1 {
			var err error
			if counts, err = r.Counter.History(ctx, p.KeyPrefix, dates[0], today); err != nil {
				return Usage{}, fmt.Errorf("usage of %s: %w", p.KeyPrefix, err)
			}
		}
		counts[today] = quota.Used
		fill(&k, dates, counts)
		u.Keys = append(u.Keys, k)
		return u, nil
	}

	all, err := r.Keys.ListKeys(ctx, p.Sub)
	if err != nil {
		return Usage{}, fmt.Errorf("usage: %w", err)
	}
	for _, rec := range all {
		if rec.Status == keys.Active {
			u.Keys = append(u.Keys, KeyUsage{Prefix: rec.Prefix, Name: rec.Name, DailyLimit: rec.DailyLimit})
		}
	}
	var (
		wg   sync.WaitGroup
		sem  = make(chan struct{}, historyConcurrency)
		errs = make([]error, len(u.Keys))
	)
	for i := range u.Keys {
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
			k := &u.Keys[i]
			counts, err := r.Counter.History(ctx, k.Prefix, dates[0], today)
			if err != nil {
				errs[i] = fmt.Errorf("usage of %s: %w", k.Prefix, err)
				return
			}
			fill(k, dates, counts)
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

func fill(k *KeyUsage, dates []string, counts map[string]int) {
	k.History = make([]DayUsage, len(dates))
	for i, d := range dates {
		k.History[i] = DayUsage{Date: d, Used: counts[d]}
	}
	k.Used = counts[dates[len(dates)-1]]
	k.Remaining = max(0, k.DailyLimit-k.Used)
}
