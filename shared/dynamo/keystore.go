package dynamo

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

// Key item attributes.
const (
	attrPrefix        = "prefix"
	attrID            = "id"
	attrHash          = "hash"
	attrOwnerKind     = "ownerKind"
	attrOwner         = "owner"
	attrCreatedBy     = "createdBy"
	attrBudget        = "budget"
	attrTier          = "tier"
	attrTeamID        = "teamId"
	attrName          = "name"
	attrDailyLimit    = "dailyLimit"
	attrStatus        = "status"
	attrCreatedAt     = "createdAt"
	attrUpdatedAt     = "updatedAt"
	attrExpiresAt     = "keyExpiresAt" // not "expiresAt", the table's TTL attribute
	attrRevokedAt     = "revokedAt"
	attrRevokedReason = "revokedReason"
	attrLeakURL       = "leakUrl"
	attrLeakedAt      = "leakedAt"
	attrRotatedFrom   = "rotatedFrom"
	attrRotatedFromID = "rotatedFromId"
	attrRotatedTo     = "rotatedTo"
	attrRotatedToID   = "rotatedToId"
	attrLastUsedAt    = "lastUsedAt"
	attrScopes        = "scopes"     // canonical; absent: every scope
	attrAllowedIPs    = "allowedIps" // canonical; absent: anywhere
	attrCreatorEmail  = "createdByEmail"

	// Owner item attributes.
	attrActiveKeys     = "activeKeys"
	attrSlotsChangedAt = "slotsChangedAt" // RFC 3339 with nanoseconds
	attrTierSetAt      = "tierSetAt"

	skMeta = "META"
)

func keyPK(prefix string) string { return "KEY#" + prefix }
func keyIDPK(id string) string   { return "KEYID#" + id }
func ownerPK(o keys.Owner) string {
	return "OWNER#" + string(o.Kind) + "#" + o.ID
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int) types.AttributeValue    { return &types.AttributeValueMemberN{Value: strconv.Itoa(v)} }
func n64(v int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(v, 10)}
}
func ts(t time.Time) types.AttributeValue { return s(t.UTC().Format(time.RFC3339)) }
func tsNano(t time.Time) types.AttributeValue {
	return s(t.UTC().Format(time.RFC3339Nano))
}

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: s(pk), AttrSK: s(sk)}
}

// seq orders keys created within the same second by this process's wall
// clock and a counter, so a listing is newest first even then.
var seq atomic.Int64

func sortKey(r keys.Record) string {
	return fmt.Sprintf("%s#%019d#%s", r.CreatedAt.UTC().Format(time.RFC3339), time.Now().UnixNano()+seq.Add(1), r.Prefix)
}

func marshalKey(r keys.Record) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		AttrPK:         s(keyPK(r.Prefix)),
		AttrSK:         s(skMeta),
		AttrGSI1PK:     s(ownerPK(r.Owner)),
		AttrGSI1SK:     s(sortKey(r)),
		attrPrefix:     s(r.Prefix),
		attrID:         s(r.ID),
		attrHash:       &types.AttributeValueMemberB{Value: r.Hash[:]},
		attrOwnerKind:  s(string(r.Owner.Kind)),
		attrOwner:      s(r.Owner.ID),
		attrBudget:     s(r.Budget),
		attrTier:       s(string(r.Tier)),
		attrName:       s(r.Name),
		attrDailyLimit: n(r.DailyLimit),
		attrStatus:     s(string(r.Status)),
		attrCreatedAt:  ts(r.CreatedAt),
		attrUpdatedAt:  ts(r.UpdatedAt),
	}
	opt := func(name, v string) {
		if v != "" {
			item[name] = s(v)
		}
	}
	optT := func(name string, t time.Time) {
		if !t.IsZero() {
			item[name] = ts(t)
		}
	}
	opt(attrCreatedBy, r.CreatedBy)
	opt(attrTeamID, r.TeamID)
	optT(attrExpiresAt, r.ExpiresAt)
	optT(attrRevokedAt, r.RevokedAt)
	opt(attrRevokedReason, string(r.RevokedReason))
	opt(attrLeakURL, r.LeakURL)
	optT(attrLeakedAt, r.LeakedAt)
	opt(attrRotatedFrom, r.RotatedFrom)
	opt(attrRotatedFromID, r.RotatedFromID)
	opt(attrRotatedTo, r.RotatedTo)
	opt(attrRotatedToID, r.RotatedToID)
	optT(attrLastUsedAt, r.LastUsedAt)
	if r.Scopes != principal.AllScopes {
		opt(attrScopes, r.Scopes)
	}
	opt(attrAllowedIPs, r.AllowedIPs)
	opt(attrCreatorEmail, r.CreatedByEmail)
	// The byDue index entry the daily key.expiring job reads (notices.go).
	maps.Copy(item, expiryIndex(r.Prefix, r.ExpiresAt))
	return item
}

func str(item map[string]types.AttributeValue, name string) string {
	if v, ok := item[name].(*types.AttributeValueMemberS); ok {
		return v.Value
	}
	return ""
}

func tm(item map[string]types.AttributeValue, name string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, str(item, name))
	return t
}

func num(item map[string]types.AttributeValue, name string) (int64, bool) {
	v, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0, false
	}
	i, err := strconv.ParseInt(v.Value, 10, 64)
	return i, err == nil
}

func unmarshalKey(item map[string]types.AttributeValue) (keys.Record, error) {
	r := keys.Record{
		Prefix:         str(item, attrPrefix),
		ID:             str(item, attrID),
		Owner:          keys.Owner{Kind: keys.OwnerKind(str(item, attrOwnerKind)), ID: str(item, attrOwner)},
		CreatedBy:      str(item, attrCreatedBy),
		Budget:         str(item, attrBudget),
		Name:           str(item, attrName),
		Tier:           principal.Tier(str(item, attrTier)),
		TeamID:         str(item, attrTeamID),
		Status:         keys.Status(str(item, attrStatus)),
		CreatedAt:      tm(item, attrCreatedAt),
		UpdatedAt:      tm(item, attrUpdatedAt),
		ExpiresAt:      tm(item, attrExpiresAt),
		RevokedAt:      tm(item, attrRevokedAt),
		RevokedReason:  keys.RevokedReason(str(item, attrRevokedReason)),
		LeakURL:        str(item, attrLeakURL),
		LeakedAt:       tm(item, attrLeakedAt),
		RotatedFrom:    str(item, attrRotatedFrom),
		RotatedFromID:  str(item, attrRotatedFromID),
		RotatedTo:      str(item, attrRotatedTo),
		RotatedToID:    str(item, attrRotatedToID),
		LastUsedAt:     tm(item, attrLastUsedAt),
		Scopes:         str(item, attrScopes),
		AllowedIPs:     str(item, attrAllowedIPs),
		CreatedByEmail: str(item, attrCreatorEmail),
	}

	if v, ok := item[attrHash].(*types.AttributeValueMemberB); ok {
		copy(r.Hash[:], v.Value)
	}
	if v, ok := num(item, attrDailyLimit); ok {
		r.DailyLimit = int(v)
	}
	if r.Prefix == "" || r.Owner.ID == "" || r.Budget == "" || r.ID == "" {
		return keys.Record{}, apierr.Internal(fmt.Errorf("key item %q is incomplete", r.Prefix))
	}
	return r, nil
}

// PutKey stores a new key, refusing an existing prefix.
func (st *Store) PutKey(ctx context.Context, r keys.Record) error {
	ctx, cancel := st.call(ctx)
	defer cancel()
	_, err := st.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(st.Table),
		Item:                     marshalKey(r),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK},
	})
	if isConditionFailed(err) {
		return keys.ErrPrefixTaken
	}
	return storeErr("put key", err)
}

// PutKeyID points a key id at its prefix.
func (st *Store) PutKeyID(ctx context.Context, id, prefix string) error {
	ctx, cancel := st.call(ctx)
	defer cancel()
	item := itemKey(keyIDPK(id), skMeta)
	item[attrPrefix] = s(prefix)
	_, err := st.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table), Item: item})
	return storeErr("put key id", err)
}

// get reads one item with a strongly consistent read; a missing one is an
// empty map.
func (st *Store) get(ctx context.Context, op, pk, sk string) (map[string]types.AttributeValue, error) {
	ctx, cancel := st.call(ctx)
	defer cancel()
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Table),
		Key:            itemKey(pk, sk),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, storeErr(op, err)
	}
	return out.Item, nil
}

// KeyPrefix resolves a key id with a strongly consistent read.
func (st *Store) KeyPrefix(ctx context.Context, id string) (string, error) {
	item, err := st.get(ctx, "get key id", keyIDPK(id), skMeta)
	if err != nil {
		return "", err
	}
	p := str(item, attrPrefix)
	if p == "" {
		return "", keys.ErrNotFound
	}
	return p, nil
}

// GetKey reads a key with a strongly consistent read, so a revocation is
// seen by the very next cold authorization.
func (st *Store) GetKey(ctx context.Context, prefix string) (keys.Record, error) {
	item, err := st.get(ctx, "get key", keyPK(prefix), skMeta)
	if err != nil {
		return keys.Record{}, err
	}
	if len(item) == 0 || isVoid(item) {
		return keys.Record{}, keys.ErrNotFound
	}
	return unmarshalKey(item)
}

// ListKeys queries the byOwner index newest first, following pages.
func (st *Store) ListKeys(ctx context.Context, o keys.Owner) ([]keys.Record, error) {
	ctx, cancel := st.call(ctx)
	defer cancel()
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(st.Table),
		IndexName:                 aws.String(IndexByOwner),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(ownerPK(o))},
		ScanIndexForward:          aws.Bool(false),
	}
	var out []keys.Record
	p := dynamodb.NewQueryPaginator(st.DB, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, storeErr("list keys", err)
		}
		for _, item := range page.Items {
			r, err := unmarshalKey(item)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
	}
	return out, nil
}

// expr collects an update or condition expression's names and values.
type expr struct {
	names  map[string]string
	values map[string]types.AttributeValue
	set    []string
	remove []string
	cond   []string
}

func newExpr() *expr {
	return &expr{names: map[string]string{}, values: map[string]types.AttributeValue{}}
}

// name registers an attribute name and returns its placeholder.
func (e *expr) name(attr string) string {
	ph := "#a" + strconv.Itoa(len(e.names))
	for k, v := range e.names {
		if v == attr {
			return k
		}
	}
	e.names[ph] = attr
	return ph
}

// value registers a value and returns its placeholder.
func (e *expr) value(v types.AttributeValue) string {
	ph := ":v" + strconv.Itoa(len(e.values))
	e.values[ph] = v
	return ph
}

func (e *expr) update() string {
	var b strings.Builder
	if len(e.set) > 0 {
		b.WriteString("SET " + strings.Join(e.set, ", "))
	}
	if len(e.remove) > 0 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("REMOVE " + strings.Join(e.remove, ", "))
	}
	return b.String()
}

func (e *expr) condition() *string {
	if len(e.cond) == 0 {
		return nil
	}
	return aws.String(strings.Join(e.cond, " AND "))
}

func (e *expr) setAttr(attr string, v types.AttributeValue) {
	e.set = append(e.set, e.name(attr)+" = "+e.value(v))
}

func (e *expr) valuesOrNil() map[string]types.AttributeValue {
	if len(e.values) == 0 {
		return nil
	}
	return e.values
}

// UpdateKey applies a change to a key record under its conditions.
func (st *Store) UpdateKey(ctx context.Context, prefix string, c keys.KeyChange) (keys.Record, error) {
	e := newExpr()
	e.cond = append(e.cond, "attribute_exists("+e.name(attrPrefix)+")") // a key, not a void item
	if c.Owner.ID != "" {
		e.cond = append(e.cond, e.name(attrOwnerKind)+" = "+e.value(s(string(c.Owner.Kind))),
			e.name(attrOwner)+" = "+e.value(s(c.Owner.ID)))
	}
	if c.RequireActive {
		e.cond = append(e.cond, e.name(attrStatus)+" = "+e.value(s(string(keys.Active))))
	}
	if !c.NotExpiredAt.IsZero() {
		x := e.name(attrExpiresAt)
		// RFC 3339 UTC with whole seconds sorts as text.
		e.cond = append(e.cond, "(attribute_not_exists("+x+") OR "+x+" > "+e.value(ts(c.NotExpiredAt))+")")
	}
	if c.NotRotated {
		e.cond = append(e.cond, "attribute_not_exists("+e.name(attrRotatedTo)+")")
	}
	if c.ReplaceRotatedTo != "" {
		e.cond = append(e.cond, e.name(attrRotatedTo)+" = "+e.value(s(c.ReplaceRotatedTo)))
	}
	if c.ExpiresAtWas != nil {
		if c.ExpiresAtWas.IsZero() {
			e.cond = append(e.cond, "attribute_not_exists("+e.name(attrExpiresAt)+")")
		} else {
			e.cond = append(e.cond, e.name(attrExpiresAt)+" = "+e.value(ts(*c.ExpiresAtWas)))
		}
	}
	if c.InBudget != "" {
		e.cond = append(e.cond, e.name(attrBudget)+" = "+e.value(s(c.InBudget)))
	}

	if !c.UpdatedAt.IsZero() {
		e.setAttr(attrUpdatedAt, ts(c.UpdatedAt))
	}
	if c.Name != nil {
		e.setAttr(attrName, s(*c.Name))
	}
	if c.DailyLimit > 0 {
		e.setAttr(attrDailyLimit, n(c.DailyLimit))
	}
	if c.ExpiresAt != nil {
		if c.ExpiresAt.IsZero() {
			e.remove = append(e.remove, e.name(attrExpiresAt))
		} else {
			e.setAttr(attrExpiresAt, ts(*c.ExpiresAt))
		}
		e.indexExpiry(prefix, *c.ExpiresAt) // the key's byDue entry moves with it (notices.go)
	}
	if c.Tier != "" {
		e.setAttr(attrTier, s(string(c.Tier)))
	}
	if c.TeamID != nil {
		if *c.TeamID == "" {
			e.remove = append(e.remove, e.name(attrTeamID))
		} else {
			e.setAttr(attrTeamID, s(*c.TeamID))
		}
	}
	if c.Revoke != "" {
		e.setAttr(attrStatus, s(string(keys.Revoked)))
		e.setAttr(attrRevokedAt, ts(c.UpdatedAt))
		e.setAttr(attrRevokedReason, s(string(c.Revoke)))
	}
	if c.LeakURL != "" {
		e.setAttr(attrLeakURL, s(c.LeakURL))
	}
	if c.Flag || c.Revoke == keys.Leaked {
		e.setAttr(attrLeakedAt, ts(c.UpdatedAt))
	}
	if c.RotatedTo != "" {
		e.setAttr(attrRotatedTo, s(c.RotatedTo))
		e.setAttr(attrRotatedToID, s(c.RotatedToID))
	}
	if !c.LastUsedAt.IsZero() {
		e.setAttr(attrLastUsedAt, ts(c.LastUsedAt))
	}
	if c.Scopes != nil {
		if *c.Scopes == "" || *c.Scopes == principal.AllScopes {
			e.remove = append(e.remove, e.name(attrScopes))
		} else {
			e.setAttr(attrScopes, s(*c.Scopes))
		}
	}
	if c.AllowedIPs != nil {
		if *c.AllowedIPs == "" {
			e.remove = append(e.remove, e.name(attrAllowedIPs))
		} else {
			e.setAttr(attrAllowedIPs, s(*c.AllowedIPs))
		}
	}
	if len(e.set) == 0 && len(e.remove) == 0 {
		return st.GetKey(ctx, prefix)
	}
	ctx, cancel := st.call(ctx)
	defer cancel()
	out, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(keyPK(prefix), skMeta),
		UpdateExpression:          aws.String(e.update()),
		ConditionExpression:       e.condition(),
		ExpressionAttributeNames:  e.names,
		ExpressionAttributeValues: e.valuesOrNil(),
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return keys.Record{}, keys.ErrConflict
	}
	if err != nil {
		return keys.Record{}, storeErr("update key", err)
	}
	return unmarshalKey(out.Attributes)
}

// ReserveSlot increments the owner's active-key count while it is below max
// and returns what is stored about the owner.
func (st *Store) ReserveSlot(ctx context.Context, o keys.Owner, max int, now time.Time) (keys.OwnerInfo, error) {
	ctx, cancel := st.call(ctx)
	defer cancel()
	out, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(ownerPK(o), skMeta),
		UpdateExpression:          aws.String("ADD #n :one SET #at = :now"),
		ConditionExpression:       aws.String("attribute_not_exists(#n) OR #n < :max"),
		ExpressionAttributeNames:  map[string]string{"#n": attrActiveKeys, "#at": attrSlotsChangedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1), ":max": n(max), ":now": tsNano(now)},
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return keys.OwnerInfo{}, keys.ErrSlotsFull
	}
	if err != nil {
		return keys.OwnerInfo{}, storeErr("reserve key slot", err)
	}
	return keys.OwnerInfo{Tier: principal.Tier(str(out.Attributes, attrTier))}, nil
}

// ReleaseSlot decrements the owner's active-key count, never below zero.
func (st *Store) ReleaseSlot(ctx context.Context, o keys.Owner, now time.Time) error {
	ctx, cancel := st.call(ctx)
	defer cancel()
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(ownerPK(o), skMeta),
		UpdateExpression:          aws.String("ADD #n :minus SET #at = :now"),
		ConditionExpression:       aws.String("#n > :zero"),
		ExpressionAttributeNames:  map[string]string{"#n": attrActiveKeys, "#at": attrSlotsChangedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":minus": n(-1), ":zero": n(0), ":now": tsNano(now)},
	})
	if isConditionFailed(err) {
		return nil
	}
	return storeErr("release key slot", err)
}

func (st *Store) getOwner(ctx context.Context, o keys.Owner) (map[string]types.AttributeValue, error) {
	return st.get(ctx, "read owner", ownerPK(o), skMeta)
}

// Slots reads the owner's slot counter with a strongly consistent read.
func (st *Store) Slots(ctx context.Context, o keys.Owner) (keys.Slots, error) {
	item, err := st.getOwner(ctx, o)
	if err != nil {
		return keys.Slots{}, err
	}
	used, _ := num(item, attrActiveKeys)
	return keys.Slots{Used: int(used), ChangedAt: tm(item, attrSlotsChangedAt)}, nil
}

// GetOwner reads the tier billing set for the owner, if any.
func (st *Store) GetOwner(ctx context.Context, o keys.Owner) (keys.OwnerInfo, error) {
	item, err := st.getOwner(ctx, o)
	if err != nil {
		return keys.OwnerInfo{}, err
	}
	return keys.OwnerInfo{Tier: principal.Tier(str(item, attrTier))}, nil
}

// SetOwnerTier stores the tier billing set for the owner.
func (st *Store) SetOwnerTier(ctx context.Context, o keys.Owner, t principal.Tier, now time.Time) error {
	ctx, cancel := st.call(ctx)
	defer cancel()
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(ownerPK(o), skMeta),
		UpdateExpression:          aws.String("SET #tier = :tier, #at = :now"),
		ExpressionAttributeNames:  map[string]string{"#tier": attrTier, "#at": attrTierSetAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":tier": s(string(t)), ":now": ts(now)},
	})
	return storeErr("set owner tier", err)
}

// RepairSlots sets the owner's count to count if it is still exactly seen.
func (st *Store) RepairSlots(ctx context.Context, o keys.Owner, seen keys.Slots, count int, now time.Time) error {
	ctx, cancel := st.call(ctx)
	defer cancel()
	cond := "#n = :seen AND #at = :seenAt"
	values := map[string]types.AttributeValue{":n": n(count), ":now": tsNano(now), ":seen": n(seen.Used)}
	if seen.ChangedAt.IsZero() {
		cond = "#n = :seen AND attribute_not_exists(#at)"
	} else {
		values[":seenAt"] = tsNano(seen.ChangedAt)
	}
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(ownerPK(o), skMeta),
		UpdateExpression:          aws.String("SET #n = :n, #at = :now"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  map[string]string{"#n": attrActiveKeys, "#at": attrSlotsChangedAt},
		ExpressionAttributeValues: values,
	})
	if isConditionFailed(err) {
		return keys.ErrSlotsFull
	}
	return storeErr("repair key slots", err)
}

var _ keys.Store = (*Store)(nil)
