package dynamo

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/metering"
)

// Budget item attributes. A live key's validity and last use are attributes
// named after its prefix, so the meter's one write can test and set them.
const (
	attrLimit     = "limit"
	attrDay       = "day"
	attrUsed      = "used"
	attrPrevDay   = "pday"
	attrPrevUsed  = "pused"
	attrSuspended = "suspended"
	attrCap       = "cap" // the cap of the tier billing set, when it set one
	validPrefix   = "v_"  // v_<prefix>: unix seconds from which the key may no longer be used
	lastUsePrefix = "lu_" // lu_<prefix>: unix seconds of the key's last metered request
	rotatedPrefix = "r_"  // r_<prefix>: present once the key was rotated

	skState = "STATE"
)

func budgetPK(id string) string { return "BUDGET#" + id }
func daySK(day string) string   { return "DAY#" + day }

// PutBudget writes a budget whole.
func (st *Store) PutBudget(ctx context.Context, b keys.Budget) error {
	ctx, cancel := st.call(ctx)
	defer cancel()
	item := itemKey(budgetPK(b.ID), skState)
	item[attrLimit] = n(b.Limit)
	item[attrDay] = s(b.Day)
	item[attrUsed] = n(b.Used)
	if b.Suspended {
		item[attrSuspended] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if b.Cap > 0 {
		item[attrCap] = n(b.Cap)
	}
	for prefix, until := range b.ValidUntil {
		item[validPrefix+prefix] = n64(until.Unix())
	}
	_, err := st.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table), Item: item})
	return storeErr("put budget", err)
}

func unmarshalBudget(item map[string]types.AttributeValue) keys.Budget {
	b := keys.Budget{
		ID:         strings.TrimPrefix(str(item, AttrPK), "BUDGET#"),
		Day:        str(item, attrDay),
		PrevDay:    str(item, attrPrevDay),
		ValidUntil: map[string]time.Time{},
		LastUsed:   map[string]time.Time{},
	}
	limit, _ := num(item, attrLimit)
	used, _ := num(item, attrUsed)
	pused, _ := num(item, attrPrevUsed)
	capN, _ := num(item, attrCap)
	b.Limit, b.Used, b.PrevUsed, b.Cap = int(limit), int(used), int(pused), int(capN)
	if v, ok := item[attrSuspended].(*types.AttributeValueMemberBOOL); ok && v.Value {
		b.Suspended = true
	}
	for name := range item {
		switch {
		case strings.HasPrefix(name, validPrefix):
			if sec, ok := num(item, name); ok {
				b.ValidUntil[name[len(validPrefix):]] = time.Unix(sec, 0).UTC()
			}
		case strings.HasPrefix(name, lastUsePrefix):
			if sec, ok := num(item, name); ok {
				b.LastUsed[name[len(lastUsePrefix):]] = time.Unix(sec, 0).UTC()
			}
		}
	}
	return b
}

// maxBatchGet is BatchGetItem's limit of keys per call.
const maxBatchGet = 100

// GetBudgets reads budgets with strongly consistent batch reads.
func (st *Store) GetBudgets(ctx context.Context, ids []string) (map[string]keys.Budget, error) {
	ctx, cancel := st.call(ctx)
	defer cancel()
	out := make(map[string]keys.Budget, len(ids))
	for start := 0; start < len(ids); start += maxBatchGet {
		chunk := ids[start:min(len(ids), start+maxBatchGet)]
		req := make([]map[string]types.AttributeValue, len(chunk))
		for i, id := range chunk {
			req[i] = itemKey(budgetPK(id), skState)
		}
		pending := map[string]types.KeysAndAttributes{st.Table: {Keys: req, ConsistentRead: aws.Bool(true)}}
		for wait := 10 * time.Millisecond; len(pending) > 0; wait *= 2 {
			res, err := st.DB.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: pending})
			if err != nil {
				return nil, storeErr("read budgets", err)
			}
			for _, item := range res.Responses[st.Table] {
				b := unmarshalBudget(item)
				out[b.ID] = b
			}
			pending = res.UnprocessedKeys
			if len(pending) > 0 {
				// Throttled part of the batch: back off within the deadline.
				select {
				case <-ctx.Done():
					return nil, storeErr("read budgets", ctx.Err())
				case <-time.After(wait):
				}
			}
		}
	}
	return out, nil
}

// UpdateBudget applies a change to a budget in one conditional write.
func (st *Store) UpdateBudget(ctx context.Context, id string, c keys.BudgetChange) (map[string]time.Time, error) {
	e := newExpr()
	e.cond = append(e.cond, "attribute_exists("+e.name(AttrPK)+")")
	if c.Limit > 0 {
		l, cp := e.name(attrLimit), e.name(attrCap)
		v := e.value(n(c.Limit))
		e.set = append(e.set, l+" = "+v)
		// Lowering always applies; a raise only up to the caller's cap and
		// the cap billing stored, in this same write (a tier change racing
		// the PATCH cannot be overtaken).
		e.cond = append(e.cond, "("+v+" <= "+l+" OR ("+v+" <= "+e.value(n(c.Cap))+
			" AND (attribute_not_exists("+cp+") OR "+v+" <= "+cp+")))")
	}
	if c.LowerTo > 0 {
		e.setAttr(attrLimit, n(c.LowerTo))
	}
	if c.SetCap > 0 {
		e.setAttr(attrCap, n(c.SetCap))
	}
	if c.MarkRotated != "" {
		e.setAttr(rotatedPrefix+c.MarkRotated, &types.AttributeValueMemberBOOL{Value: true})
	}
	if c.RequireNotRotated != "" {
		e.cond = append(e.cond, "attribute_not_exists("+e.name(rotatedPrefix+c.RequireNotRotated)+")")
	}
	for prefix, until := range c.Valid {
		e.setAttr(validPrefix+prefix, n64(until.Unix()))
	}
	for _, prefix := range c.Invalidate {
		e.remove = append(e.remove, e.name(validPrefix+prefix), e.name(lastUsePrefix+prefix), e.name(rotatedPrefix+prefix))
	}
	if c.RequireLive != "" {
		e.cond = append(e.cond, "attribute_exists("+e.name(validPrefix+c.RequireLive)+")")
	}
	if c.Suspend != nil {
		if *c.Suspend {
			e.setAttr(attrSuspended, &types.AttributeValueMemberBOOL{Value: true})
		} else {
			e.remove = append(e.remove, e.name(attrSuspended))
		}
	}
	if len(e.set) == 0 && len(e.remove) == 0 {
		return nil, nil
	}
	ctx, cancel := st.call(ctx)
	defer cancel()
	in := &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(budgetPK(id), skState),
		UpdateExpression:          aws.String(e.update()),
		ConditionExpression:       e.condition(),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.valuesOrNil(),
	}
	if len(c.Invalidate) > 0 {
		in.ReturnValues = types.ReturnValueUpdatedOld
	}
	out, err := st.DB.UpdateItem(ctx, in)
	if isConditionFailed(err) {
		return nil, keys.ErrConflict
	}
	if err != nil {
		return nil, storeErr("update budget", err)
	}
	last := map[string]time.Time{}
	for _, prefix := range c.Invalidate {
		if sec, ok := num(out.Attributes, lastUsePrefix+prefix); ok {
			last[prefix] = time.Unix(sec, 0).UTC()
		}
	}
	return last, nil
}

// spendAttempts bounds the meter's retries when it races a day rollover.
const spendAttempts = 4

// Spend is the meter's write: one conditional UpdateItem on the budget that
// counts the request and records the key's last use, only while the counter
// is on today, below the stored limit, the key is still valid and the owner
// not suspended. Revocation, expiry, grace end, suspension and a lowered limit
// therefore hold on the very next request whatever any cache in front said.
// Only when that write is refused does Spend read the budget, to tell why
// (dynalite lacks ReturnValuesOnConditionCheckFailure) or to start a new day.
func (st *Store) Spend(ctx context.Context, budget, prefix string, now time.Time) (metering.Spent, error) {
	day := clock.Day(now)
	sec := now.Unix()
	for range spendAttempts {
		sp, err := st.increment(ctx, budget, prefix, day, sec)
		if !errors.Is(err, keys.ErrConflict) {
			return sp, err
		}
		b, err := st.getBudget(ctx, budget)
		if err != nil {
			return metering.Spent{}, err
		}
		until, ok := b.ValidUntil[prefix]
		switch {
		case b.ID == "":
			return metering.Spent{}, keys.ErrNotFound
		case !ok:
			return metering.Spent{}, keys.ErrRevoked
		case !now.Before(until):
			return metering.Spent{}, keys.ErrExpired
		case b.Suspended:
			return metering.Spent{}, keys.ErrSuspended
		case b.Day == day && b.Used >= b.Limit:
			return metering.Spent{Limit: b.Limit, Used: b.Used}, keys.ErrLimitReached
		case b.Day > day:
			// Another process already counts on the next UTC day.
			day = b.Day
		case b.Day < day:
			sp, err := st.rollover(ctx, b, prefix, day, sec)
			if !errors.Is(err, keys.ErrConflict) {
				return sp, err
			}
		}
	}
	return metering.Spent{}, apierr.Unavailable(errors.New("meter: budget kept changing under contention"))
}

func (st *Store) increment(ctx context.Context, budget, prefix, day string, sec int64) (metering.Spent, error) {
	ctx, cancel := st.call(ctx)
	defer cancel()
	out, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(st.Table),
		Key:                 itemKey(budgetPK(budget), skState),
		UpdateExpression:    aws.String("ADD #used :one SET #lu = :now"),
		ConditionExpression: aws.String("#day = :day AND #used < #limit AND #v > :now AND attribute_not_exists(#susp)"),
		ExpressionAttributeNames: map[string]string{
			"#used": attrUsed, "#limit": attrLimit, "#day": attrDay, "#susp": attrSuspended,
			"#v": validPrefix + prefix, "#lu": lastUsePrefix + prefix,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": n(1), ":day": s(day), ":now": n64(sec),
		},
		ReturnValues: types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return metering.Spent{}, keys.ErrConflict
	}
	if err != nil {
		return metering.Spent{}, storeErr("count request", err)
	}
	used, ok1 := num(out.Attributes, attrUsed)
	limit, ok2 := num(out.Attributes, attrLimit)
	if !ok1 || !ok2 {
		return metering.Spent{}, apierr.Internal(errNoCount)
	}
	pused, _ := num(out.Attributes, attrPrevUsed)
	return metering.Spent{Used: int(used), Limit: int(limit), PrevDay: str(out.Attributes, attrPrevDay), PrevUsed: int(pused)}, nil
}

// rollover starts a new day on the budget with this request as its first,
// keeping the old day in the item (pday) and archiving it as a day item.
func (st *Store) rollover(ctx context.Context, b keys.Budget, prefix, day string, sec int64) (metering.Spent, error) {
	cctx, cancel := st.call(ctx)
	defer cancel()
	out, err := st.DB.UpdateItem(cctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(st.Table),
		Key:                 itemKey(budgetPK(b.ID), skState),
		UpdateExpression:    aws.String("SET #pday = #day, #pused = #used, #day = :day, #used = :one, #lu = :now"),
		ConditionExpression: aws.String("#day = :seen AND #v > :now AND attribute_not_exists(#susp) AND #limit >= :one"),
		ExpressionAttributeNames: map[string]string{
			"#pday": attrPrevDay, "#pused": attrPrevUsed, "#day": attrDay, "#used": attrUsed, "#limit": attrLimit,
			"#susp": attrSuspended, "#v": validPrefix + prefix, "#lu": lastUsePrefix + prefix,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":day": s(day), ":one": n(1), ":now": n64(sec), ":seen": s(b.Day),
		},
		ReturnValues: types.ReturnValueUpdatedOld,
	})
	if isConditionFailed(err) {
		return metering.Spent{}, keys.ErrConflict
	}
	if err != nil {
		return metering.Spent{}, storeErr("start a new day", err)
	}
	oldDay := str(out.Attributes, attrDay)
	oldUsed, _ := num(out.Attributes, attrUsed)
	if oldDay != "" && oldUsed > 0 {
		// Best effort: on failure the day stays readable from the budget's
		// pday until the next rollover, and this request is counted anyway.
		_ = st.archive(ctx, b.ID, oldDay, int(oldUsed), time.Unix(sec, 0))
	}
	return metering.Spent{Used: 1, Limit: b.Limit, PrevDay: oldDay, PrevUsed: int(oldUsed)}, nil
}

func (st *Store) archive(ctx context.Context, budget, day string, used int, now time.Time) error {
	ctx, cancel := st.call(ctx)
	defer cancel()
	item := itemKey(budgetPK(budget), daySK(day))
	item[attrUsed] = n(used)
	item[AttrExpiresAt] = n64(now.Add(metering.Retention).Unix())
	_, err := st.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table), Item: item})
	return storeErr("archive day", err)
}

func (st *Store) getBudget(ctx context.Context, id string) (keys.Budget, error) {
	item, err := st.get(ctx, "read budget", budgetPK(id), skState)
	if err != nil || len(item) == 0 {
		return keys.Budget{}, err
	}
	return unmarshalBudget(item), nil
}

// History returns a budget's archived counts for the days from..to
// (YYYY-MM-DD, inclusive) with one Query on its partition. The days still
// held in the budget item (Day, PrevDay) are the caller's to merge.
func (st *Store) History(ctx context.Context, budget, from, to string) (map[string]int, error) {
	ctx, cancel := st.call(ctx)
	defer cancel()
	in := &dynamodb.QueryInput{
		TableName:                aws.String(st.Table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK, "#used": attrUsed},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": s(budgetPK(budget)), ":from": s(daySK(from)), ":to": s(daySK(to)),
		},
		ProjectionExpression: aws.String("#sk, #used"),
		ConsistentRead:       aws.Bool(true),
	}
	out := map[string]int{}
	p := dynamodb.NewQueryPaginator(st.DB, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, storeErr("query usage history", err)
		}
		for _, item := range page.Items {
			sk := str(item, AttrSK)
			used, ok := num(item, attrUsed)
			if !ok || len(sk) <= len("DAY#") {
				continue
			}
			out[sk[len("DAY#"):]] = int(used)
		}
	}
	return out, nil
}

var _ metering.Counter = (*Store)(nil)
