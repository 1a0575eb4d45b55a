package dynamo

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/clock"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/metering"
)

// The meter's admission rule, written once. Each rule is a condition on the
// budget item, for the one conditional write that counts a request, and the
// same test in Go on a budget as read, which tells a refused request why.
// The next state a key gains is one more rule here.
//
// Placeholders are fixed, so the condition of each variant (route with or
// without a scope, key with or without networks, counting or starting a day)
// is built once per process.
type rule struct {
	// cond is the condition expression (with the fixed placeholders below);
	// "" adds nothing for this variant.
	cond func(v variant) string
	// check is the rule on a budget as read: nil when it holds, a typed
	// outcome when it does not (errNewDay, errStale and errNoRoom
	// are the meter's own to act on).
	check func(b keys.Budget, c *metering.Charge, day string) error
	// onNewDay: the rule also guards the write that starts a new day.
	onNewDay bool
}

// variant selects a rule's condition: whether the route needs a scope,
// whether the caller believes the key limited to scopes, and whether it
// checked the source address against networks. Each rule is then one plain
// term: no OR, no parentheses, which dynalite's expression parser spends
// far more on (a parenthesised OR cost a third of its throughput).
type variant struct{ scope, restricted, networks bool }

var (
	errNewDay = errors.New("the budget counts an earlier day")
	errStale  = errors.New("the key's scopes or networks changed")
	errNoRoom = errors.New("budget written before route costs")
)

var admission = []rule{
	{ // the budget exists
		cond:     func(variant) string { return "attribute_exists(#pk)" },
		check:    func(b keys.Budget, _ *metering.Charge, _ string) error { return when(b.ID == "", keys.ErrNotFound) },
		onNewDay: true,
	},
	{ // the key is one of the budget's live keys: not revoked, not past its expiry or grace end
		cond: func(variant) string { return "#v > :now" },
		check: func(b keys.Budget, c *metering.Charge, _ string) error {
			until, ok := b.ValidUntil[c.Prefix]
			if !ok {
				return keys.ErrRevoked
			}
			return when(!c.At.Before(until), keys.ErrExpired)
		},
		onNewDay: true,
	},
	{ // the owner's plan allows keys
		cond:     func(variant) string { return "attribute_not_exists(#susp)" },
		check:    func(b keys.Budget, _ *metering.Charge, _ string) error { return when(b.Suspended, keys.ErrSuspended) },
		onNewDay: true,
	},
	{ // the route's scope is among the key's: the key is still unrestricted
		// as the caller believed, or its stored scopes hold the route's
		cond: func(v variant) string {
			switch {
			case !v.scope:
				return ""
			case v.restricted:
				return "contains(#sc, :scope)"
			}
			return "attribute_not_exists(#sc)"
		},
		check: func(b keys.Budget, c *metering.Charge, _ string) error {
			sc, limited := b.Scopes[c.Prefix]
			switch {
			case c.Scope == "":
				return nil
			case limited && !hasScope(sc, c.Scope):
				return keys.ErrScope
			case limited != c.Restricted:
				c.Restricted = limited
				return errStale
			}
			return nil
		},
		onNewDay: true,
	},
	{ // the key's networks are still those the source address was checked against
		cond: func(v variant) string {
			if !v.networks {
				return "attribute_not_exists(#ip)"
			}
			return "#ip = :ip"
		},
		check: func(b keys.Budget, c *metering.Charge, _ string) error {
			stored := b.AllowedIPs[c.Prefix]
			switch {
			case !keys.NetworksOf(stored).Allows(c.From):
				return keys.ErrNetwork
			case stored != c.AllowedIPs:
				c.AllowedIPs = stored
				return errStale
			}
			return nil
		},
		onNewDay: true,
	},
	{ // today's counter has room for the route's cost (a new day's, the whole limit)
		cond: func(variant) string { return "#room >= :cost" },
		check: func(b keys.Budget, c *metering.Charge, day string) error {
			if b.Day < day {
				return when(b.Limit < c.Cost, keys.ErrLimitReached)
			}
			if !b.HasRoom {
				return errNoRoom
			}
			return when(b.Room < c.Cost, keys.ErrLimitReached)
		},
	},
	{ // the counter is on today
		cond: func(variant) string { return "#day = :day" },
		check: func(b keys.Budget, _ *metering.Charge, day string) error {
			return when(b.Day < day, errNewDay)
		},
	},
}

func when(refused bool, err error) error {
	if refused {
		return err
	}
	return nil
}

func hasScope(canonical, scope string) bool {
	for canonical != "" {
		name, rest, _ := strings.Cut(canonical, " ")
		if name == scope {
			return true
		}
		canonical = rest
	}
	return false
}

// conditions caches the condition expression of each variant, counting
// (today and room included) or starting a new day.
var conditions sync.Map // conditionKey -> string

type conditionKey struct {
	v      variant
	newDay bool
}

func condition(v variant, newDay bool) string {
	k := conditionKey{v, newDay}
	if c, ok := conditions.Load(k); ok {
		return c.(string)
	}
	var parts []string
	for _, r := range admission {
		if newDay && !r.onNewDay {
			continue
		}
		if c := r.cond(v); c != "" {
			parts = append(parts, c)
		}
	}
	if newDay {
		parts = append(parts, "#day = :seen", "#limit >= :cost")
	}
	c := strings.Join(parts, " AND ")
	conditions.Store(k, c)
	return c
}

// refusal is the first rule a budget as read breaks for c (nil: none, the
// write lost a race and may be tried again). newDay leaves out the rules
// that do not guard a new day's first request.
func refusal(b keys.Budget, c *metering.Charge, day string, newDay bool) error {
	for _, r := range admission {
		if newDay && !r.onNewDay {
			continue
		}
		if err := r.check(b, c, day); err != nil {
			return err
		}
	}
	return nil
}

// spendAttempts bounds the meter's retries when it races a day rollover or
// a change of the key's networks.
const spendAttempts = 4

// Spend is the meter's write: one conditional UpdateItem on the budget that
// takes the route's cost from today's room and records the key's last use,
// only while every admission rule holds. Revocation, expiry, grace end,
// suspension, a lowered limit, narrowed scopes and changed networks
// therefore hold on the very next request whatever any cache in front said.
// Only when that write is refused does Spend read the budget, to tell why
// (dynalite lacks ReturnValuesOnConditionCheckFailure) or to start a new day.
// A source address outside the networks the caller knew is confirmed with
// that read before anything is written (the networks may have widened).
func (st *Store) Spend(ctx context.Context, c metering.Charge) (metering.Spent, error) {
	c.Cost = max(c.Cost, 1)
	day := clock.Day(c.At)
	var read metering.Spent
	for range spendAttempts {
		if !keys.NetworksOf(c.AllowedIPs).Allows(c.From) {
			b, err := st.getBudget(ctx, c.Budget)
			if err != nil {
				return metering.Spent{}, err
			}
			read = readOf(b, c.Prefix)
			if err := refusal(b, &c, day, true); err != nil && !errors.Is(err, errStale) {
				return outcome(b, read, day, err)
			}
		}
		sp, err := st.increment(ctx, c, day)
		if !errors.Is(err, keys.ErrConflict) {
			return withRead(sp, read), err
		}
		b, err := st.getBudget(ctx, c.Budget)
		if err != nil {
			return metering.Spent{}, err
		}
		read = readOf(b, c.Prefix)
		switch err := refusal(b, &c, day, false); {
		case err == nil, errors.Is(err, errStale):
			// A race, or networks changed and still allow the address: again.
		case errors.Is(err, errNoRoom):
			if err := st.giveRoom(ctx, b); err != nil {
				return metering.Spent{}, err
			}
		case errors.Is(err, errNewDay):
			if b.Day > day {
				day = b.Day // another process already counts the next UTC day
				continue
			}
			sp, err := st.rollover(ctx, b, c, day)
			if !errors.Is(err, keys.ErrConflict) {
				return withRead(sp, read), err
			}
		default:
			return outcome(b, read, day, err)
		}
	}
	return metering.Spent{}, apierr.Unavailable(errors.New("meter: budget kept changing under contention"))
}

// Check applies the admission rules that do not count (everything but the
// day's room) to the budget as one consistent read shows it.
func (st *Store) Check(ctx context.Context, c metering.Charge) (metering.Spent, error) {
	b, err := st.getBudget(ctx, c.Budget)
	if err != nil {
		return metering.Spent{}, err
	}
	sp := readOf(b, c.Prefix)
	if err := refusal(b, &c, clock.Day(c.At), true); err != nil && !errors.Is(err, errStale) {
		return outcome(b, sp, clock.Day(c.At), err)
	}
	sp.Used, sp.Room = b.Used, b.Limit-b.Used
	if b.Day != clock.Day(c.At) {
		sp.Used, sp.Room = 0, b.Limit
	} else if b.HasRoom {
		sp.Room = b.Room
	}
	return sp, nil
}

// readOf is what a read of the budget tells the meter about the key.
func readOf(b keys.Budget, prefix string) metering.Spent {
	sc, ok := b.Scopes[prefix]
	if !ok {
		sc = ""
	}
	_, restricted := b.Scopes[prefix]
	return metering.Spent{Read: true, Limit: b.Limit, Scopes: sc, Restricted: restricted, AllowedIPs: b.AllowedIPs[prefix],
		LimitNoticed: b.LimitNoticed[prefix]}
}

func withRead(sp, read metering.Spent) metering.Spent {
	if read.Read {
		sp.Read, sp.Scopes, sp.Restricted, sp.AllowedIPs = true, read.Scopes, read.Restricted, read.AllowedIPs
	}
	return sp
}

// outcome is a refusal as the meter reports it: the limit and the day's use
// and room with ErrLimitReached, the stored scopes or networks with ErrScope
// or ErrNetwork.
func outcome(b keys.Budget, read metering.Spent, day string, err error) (metering.Spent, error) {
	if errors.Is(err, keys.ErrLimitReached) {
		read.Used, read.Room = b.Used, b.Room
		if b.Day < day {
			read.Used, read.Room = 0, b.Limit
		}
	}
	return read, err
}

// charge's placeholders, shared by every condition variant.
func chargeNames(prefix string) map[string]string {
	return map[string]string{
		"#pk": AttrPK, "#used": attrUsed, "#room": attrRoom, "#limit": attrLimit, "#day": attrDay,
		"#susp": attrSuspended, "#v": validPrefix + prefix, "#lu": lastUsePrefix + prefix,
		"#sc": scopesPrefix + prefix, "#ip": networkPrefix + prefix,
	}
}

func chargeValues(c metering.Charge, v variant) map[string]types.AttributeValue {
	vals := map[string]types.AttributeValue{":cost": n(c.Cost), ":now": n64(c.At.Unix())}
	if v.scope && v.restricted {
		vals[":scope"] = s(c.Scope)
	}
	if v.networks {
		vals[":ip"] = s(c.AllowedIPs)
	}
	return vals
}

// names keeps only the placeholders expr uses (DynamoDB refuses unused ones).
func names(all map[string]string, expr string) map[string]string {
	for ph := range all {
		if !strings.Contains(expr, ph) {
			delete(all, ph)
		}
	}
	return all
}

func (st *Store) increment(ctx context.Context, c metering.Charge, day string) (metering.Spent, error) {
	ctx, cancel := st.call(ctx)
	defer cancel()
	v := variant{scope: c.Scope != "", restricted: c.Restricted, networks: c.AllowedIPs != ""}
	cond := condition(v, false)
	const update = "ADD #used :cost SET #room = #room - :cost, #lu = :now"
	vals := chargeValues(c, v)
	vals[":day"] = s(day)
	out, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(budgetPK(c.Budget), skState),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names(chargeNames(c.Prefix), cond+" "+update),
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return metering.Spent{}, keys.ErrConflict
	}
	if err != nil {
		return metering.Spent{}, storeErr("count request", err)
	}
	used, ok1 := num(out.Attributes, attrUsed)
	limit, ok2 := num(out.Attributes, attrLimit)
	room, ok3 := num(out.Attributes, attrRoom)
	if !ok1 || !ok2 || !ok3 {
		return metering.Spent{}, apierr.Internal(errNoCount)
	}
	pused, _ := num(out.Attributes, attrPrevUsed)
	return metering.Spent{Used: int(used), Limit: int(limit), Room: int(room), PrevDay: str(out.Attributes, attrPrevDay), PrevUsed: int(pused)}, nil
}

// rollover starts a new day on the budget with this request as its first,
// keeping the old day in the item (pday) and archiving it as a day item.
func (st *Store) rollover(ctx context.Context, b keys.Budget, c metering.Charge, day string) (metering.Spent, error) {
	cctx, cancel := st.call(ctx)
	defer cancel()
	v := variant{scope: c.Scope != "", restricted: c.Restricted, networks: c.AllowedIPs != ""}
	cond := condition(v, true)
	const update = "SET #pday = #day, #pused = #used, #day = :day, #used = :cost, #room = #limit - :cost, #lu = :now"
	all := chargeNames(c.Prefix)
	all["#pday"], all["#pused"] = attrPrevDay, attrPrevUsed
	vals := chargeValues(c, v)
	vals[":day"], vals[":seen"] = s(day), s(b.Day)
	out, err := st.DB.UpdateItem(cctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(budgetPK(b.ID), skState),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names(all, cond+" "+update),
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueUpdatedOld,
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
		_ = st.archive(ctx, b.ID, oldDay, int(oldUsed), c.At)
	}
	return metering.Spent{Used: c.Cost, Limit: b.Limit, Room: b.Limit - c.Cost, PrevDay: oldDay, PrevUsed: int(oldUsed)}, nil
}

// giveRoom writes the room of a budget stored before routes had costs, once.
func (st *Store) giveRoom(ctx context.Context, b keys.Budget) error {
	ctx, cancel := st.call(ctx)
	defer cancel()
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                aws.String(st.Table),
		Key:                      itemKey(budgetPK(b.ID), skState),
		UpdateExpression:         aws.String("SET #room = #limit - #used"),
		ConditionExpression:      aws.String("attribute_exists(#pk) AND attribute_not_exists(#room)"),
		ExpressionAttributeNames: map[string]string{"#room": attrRoom, "#limit": attrLimit, "#used": attrUsed, "#pk": AttrPK},
	})
	if err != nil && !isConditionFailed(err) {
		return storeErr("give the budget its room", err)
	}
	return nil
}
