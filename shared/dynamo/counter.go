package dynamo

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/metering"
	"github.com/keygate/keygate/shared/principal"
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
	attrCap       = "cap"  // the cap of the tier billing set, when it set one
	attrRoom      = "room" // limit - used for the day counted: what a request's cost is tested against
	validPrefix   = "v_"   // v_<prefix>: unix seconds from which the key may no longer be used
	lastUsePrefix = "lu_"  // lu_<prefix>: unix seconds of the key's last metered request
	rotatedPrefix = "r_"   // r_<prefix>: present once the key was rotated
	scopesPrefix  = "sc_"  // sc_<prefix>: string set of the key's scopes; absent: every scope
	networkPrefix = "ip_"  // ip_<prefix>: the key's networks, canonical; absent: anywhere

	skState = "STATE"
)

func budgetPK(id string) string { return "BUDGET#" + id }

// scopeSet is a key's canonical scopes as the string set the meter's
// contains() tests, or nil for every scope (no attribute).
func scopeSet(canonical string) types.AttributeValue {
	if canonical == "" || canonical == principal.AllScopes {
		return nil
	}
	return &types.AttributeValueMemberSS{Value: strings.Split(canonical, " ")}
}
func daySK(day string) string { return "DAY#" + day }

// PutBudget writes a budget whole.
func (st *Store) PutBudget(ctx context.Context, b keys.Budget) error {
	ctx, cancel := st.call(ctx)
	defer cancel()
	item := itemKey(budgetPK(b.ID), skState)
	item[attrLimit] = n(b.Limit)
	item[attrDay] = s(b.Day)
	item[attrUsed] = n(b.Used)
	item[attrRoom] = n(b.Limit - b.Used)
	if b.Suspended {
		item[attrSuspended] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if b.Cap > 0 {
		item[attrCap] = n(b.Cap)
	}
	for prefix, until := range b.ValidUntil {
		item[validPrefix+prefix] = n64(until.Unix())
	}
	for prefix, sc := range b.Scopes {
		if v := scopeSet(sc); v != nil {
			item[scopesPrefix+prefix] = v
		}
	}
	for prefix, ips := range b.AllowedIPs {
		if ips != "" {
			item[networkPrefix+prefix] = s(ips)
		}
	}
	_, err := st.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table), Item: item})
	return storeErr("put budget", err)
}

func unmarshalBudget(item map[string]types.AttributeValue) keys.Budget {
	b := keys.Budget{
		ID:           strings.TrimPrefix(str(item, AttrPK), "BUDGET#"),
		Day:          str(item, attrDay),
		PrevDay:      str(item, attrPrevDay),
		ValidUntil:   map[string]time.Time{},
		LastUsed:     map[string]time.Time{},
		Scopes:       map[string]string{},
		AllowedIPs:   map[string]string{},
		LimitNoticed: map[string]string{},
	}
	room, hasRoom := num(item, attrRoom)
	b.Room, b.HasRoom = int(room), hasRoom
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
		case strings.HasPrefix(name, scopesPrefix):
			if v, ok := item[name].(*types.AttributeValueMemberSS); ok {
				names := slices.Clone(v.Value)
				slices.Sort(names)
				b.Scopes[name[len(scopesPrefix):]] = strings.Join(names, " ")
			}
		case strings.HasPrefix(name, networkPrefix):
			b.AllowedIPs[name[len(networkPrefix):]] = str(item, name)
		case strings.HasPrefix(name, limitNoticePrefix):
			b.LimitNoticed[name[len(limitNoticePrefix):]] = str(item, name)
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
		e.set = append(e.set, e.name(attrRoom)+" = "+v+" - "+e.name(attrUsed))
	}
	if c.LowerTo > 0 {
		v := e.value(n(c.LowerTo))
		e.set = append(e.set, e.name(attrLimit)+" = "+v, e.name(attrRoom)+" = "+v+" - "+e.name(attrUsed))
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
	for prefix, sc := range c.Scopes {
		if v := scopeSet(sc); v != nil {
			e.setAttr(scopesPrefix+prefix, v)
		} else {
			e.remove = append(e.remove, e.name(scopesPrefix+prefix))
		}
	}
	for prefix, ips := range c.AllowedIPs {
		if ips != "" {
			e.setAttr(networkPrefix+prefix, s(ips))
		} else {
			e.remove = append(e.remove, e.name(networkPrefix+prefix))
		}
	}
	for _, prefix := range c.Invalidate {
		e.remove = append(e.remove, e.name(validPrefix+prefix), e.name(lastUsePrefix+prefix), e.name(rotatedPrefix+prefix),
			e.name(scopesPrefix+prefix), e.name(networkPrefix+prefix), e.name(limitNoticePrefix+prefix))
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
