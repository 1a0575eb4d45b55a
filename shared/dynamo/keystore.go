package dynamo

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/principal"
)

const (
	attrPrefix     = "prefix"
	attrHash       = "hash"
	attrOwner      = "owner"
	attrTier       = "tier"
	attrTeamID     = "teamId"
	attrName       = "name"
	attrDailyLimit = "dailyLimit"
	attrStatus     = "status"
	attrCreatedAt  = "createdAt"
	attrUpdatedAt  = "updatedAt"
	attrLastUsedAt = "lastUsedAt"
	attrRevokedAt  = "revokedAt"
	attrActiveKeys = "activeKeys"
	// When the slot counter last moved (RFC 3339 with nanoseconds).
	attrSlotsChangedAt = "slotsChangedAt"

	skMeta = "META"
)

func keyPK(prefix string) string  { return "KEY#" + prefix }
func ownerPK(owner string) string { return "OWNER#" + owner }

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v int) types.AttributeValue    { return &types.AttributeValueMemberN{Value: strconv.Itoa(v)} }
func ts(t time.Time) types.AttributeValue {
	return s(t.UTC().Format(time.RFC3339))
}

func itemKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{AttrPK: s(pk), AttrSK: s(sk)}
}

func marshalKey(r keys.Record) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		AttrPK:         s(keyPK(r.Prefix)),
		AttrSK:         s(skMeta),
		AttrGSI1PK:     s(ownerPK(r.Owner)),
		AttrGSI1SK:     s(r.CreatedAt.UTC().Format(time.RFC3339) + "#" + r.Prefix),
		attrPrefix:     s(r.Prefix),
		attrHash:       &types.AttributeValueMemberB{Value: r.Hash[:]},
		attrOwner:      s(r.Owner),
		attrTier:       s(string(r.Tier)),
		attrName:       s(r.Name),
		attrDailyLimit: n(r.DailyLimit),
		attrStatus:     s(string(r.Status)),
		attrCreatedAt:  ts(r.CreatedAt),
		attrUpdatedAt:  ts(r.UpdatedAt),
	}
	if r.TeamID != "" {
		item[attrTeamID] = s(r.TeamID)
	}
	return item
}

func unmarshalKey(item map[string]types.AttributeValue) (keys.Record, error) {
	var r keys.Record
	str := func(name string) string {
		if v, ok := item[name].(*types.AttributeValueMemberS); ok {
			return v.Value
		}
		return ""
	}
	tm := func(name string) time.Time {
		t, _ := time.Parse(time.RFC3339, str(name))
		return t
	}
	r.Prefix = str(attrPrefix)
	r.Owner = str(attrOwner)
	r.Tier = principal.Tier(str(attrTier))
	r.TeamID = str(attrTeamID)
	r.Name = str(attrName)
	r.Status = keys.Status(str(attrStatus))
	r.CreatedAt = tm(attrCreatedAt)
	r.UpdatedAt = tm(attrUpdatedAt)
	r.LastUsedAt = tm(attrLastUsedAt)
	r.RevokedAt = tm(attrRevokedAt)
	if v, ok := item[attrHash].(*types.AttributeValueMemberB); ok {
		copy(r.Hash[:], v.Value)
	}
	if v, ok := item[attrDailyLimit].(*types.AttributeValueMemberN); ok {
		r.DailyLimit, _ = strconv.Atoi(v.Value)
	}
	if r.Prefix == "" || r.Owner == "" || r.DailyLimit < 1 {
		return keys.Record{}, apierr.Internal(fmt.Errorf("key item %q is incomplete", r.Prefix))
	}
	return r, nil
}

// PutKey stores a new key, refusing an existing prefix.
func (st *Store) PutKey(ctx context.Context, r keys.Record) error {
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

// GetKey reads a key with a strongly consistent read, so a revocation is
// seen by the very next request.
func (st *Store) GetKey(ctx context.Context, prefix string) (keys.Record, error) {
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Table),
		Key:            itemKey(keyPK(prefix), skMeta),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return keys.Record{}, storeErr("get key", err)
	}
	if len(out.Item) == 0 {
		return keys.Record{}, keys.ErrNotFound
	}
	return unmarshalKey(out.Item)
}

// ListKeys queries the byOwner index newest first, following pages.
func (st *Store) ListKeys(ctx context.Context, owner string) ([]keys.Record, error) {
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(st.Table),
		IndexName:                 aws.String(IndexByOwner),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI1PK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(ownerPK(owner))},
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

// UpdateKey applies a patch to the owner's active key.
func (st *Store) UpdateKey(ctx context.Context, owner, prefix string, p keys.Patch, now time.Time) (keys.Record, error) {
	set := "SET #updatedAt = :now, #tier = :tier"
	names := map[string]string{"#owner": attrOwner, "#status": attrStatus, "#updatedAt": attrUpdatedAt, "#tier": attrTier, "#teamId": attrTeamID}
	values := map[string]types.AttributeValue{":owner": s(owner), ":active": s(string(keys.Active)), ":now": ts(now), ":tier": s(string(p.Tier))}
	remove := " REMOVE #teamId"
	if p.TeamID != "" {
		set += ", #teamId = :teamId"
		values[":teamId"] = s(p.TeamID)
		remove = ""
	}
	if p.Name != nil {
		set += ", #name = :name"
		names["#name"] = attrName
		values[":name"] = s(*p.Name)
	}
	if p.DailyLimit != nil {
		set += ", #dailyLimit = :limit"
		names["#dailyLimit"] = attrDailyLimit
		values[":limit"] = n(*p.DailyLimit)
	}
	out, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(keyPK(prefix), skMeta),
		UpdateExpression:          aws.String(set + remove),
		ConditionExpression:       aws.String("#owner = :owner AND #status = :active"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ReturnValues:              types.ReturnValueAllNew,
	})
	if isConditionFailed(err) {
		return keys.Record{}, keys.ErrNotFound
	}
	if err != nil {
		return keys.Record{}, storeErr("update key", err)
	}
	return unmarshalKey(out.Attributes)
}

// RevokeKey marks the owner's active key revoked and keeps it for audit.
func (st *Store) RevokeKey(ctx context.Context, owner, prefix string, now time.Time) error {
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(st.Table),
		Key:                 itemKey(keyPK(prefix), skMeta),
		UpdateExpression:    aws.String("SET #status = :revoked, #revokedAt = :now, #updatedAt = :now"),
		ConditionExpression: aws.String("#owner = :owner AND #status = :active"),
		ExpressionAttributeNames: map[string]string{
			"#owner": attrOwner, "#status": attrStatus, "#revokedAt": attrRevokedAt, "#updatedAt": attrUpdatedAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":owner": s(owner), ":active": s(string(keys.Active)), ":revoked": s(string(keys.Revoked)), ":now": ts(now),
		},
	})
	if isConditionFailed(err) {
		return keys.ErrNotFound
	}
	return storeErr("revoke key", err)
}

// ReserveSlot increments the owner's active-key count while it is below max.
func (st *Store) ReserveSlot(ctx context.Context, owner string, max int, now time.Time) error {
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(ownerPK(owner), skMeta),
		UpdateExpression:          aws.String("ADD #n :one SET #at = :now"),
		ConditionExpression:       aws.String("attribute_not_exists(#n) OR #n < :max"),
		ExpressionAttributeNames:  map[string]string{"#n": attrActiveKeys, "#at": attrSlotsChangedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": n(1), ":max": n(max), ":now": tsNano(now)},
	})
	if isConditionFailed(err) {
		return keys.ErrSlotsFull
	}
	return storeErr("reserve key slot", err)
}

// ReleaseSlot decrements the owner's active-key count, never below zero.
func (st *Store) ReleaseSlot(ctx context.Context, owner string, now time.Time) error {
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(ownerPK(owner), skMeta),
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

// Slots reads the owner's slot counter with a strongly consistent read.
func (st *Store) Slots(ctx context.Context, owner string) (keys.Slots, error) {
	out, err := st.DB.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String(st.Table),
		Key:            itemKey(ownerPK(owner), skMeta),
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return keys.Slots{}, storeErr("read key slots", err)
	}
	var sl keys.Slots
	if v, ok := out.Item[attrActiveKeys].(*types.AttributeValueMemberN); ok {
		sl.Used, _ = strconv.Atoi(v.Value)
	}
	if v, ok := out.Item[attrSlotsChangedAt].(*types.AttributeValueMemberS); ok {
		sl.ChangedAt, _ = time.Parse(time.RFC3339Nano, v.Value)
	}
	return sl, nil
}

// RepairSlots sets the owner's count to count if it is still exactly seen.
func (st *Store) RepairSlots(ctx context.Context, owner string, seen keys.Slots, count int, now time.Time) error {
	cond := "#n = :seen AND #at = :seenAt"
	values := map[string]types.AttributeValue{":n": n(count), ":now": tsNano(now), ":seen": n(seen.Used)}
	if seen.ChangedAt.IsZero() {
		cond = "#n = :seen AND attribute_not_exists(#at)"
	} else {
		values[":seenAt"] = tsNano(seen.ChangedAt)
	}
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(ownerPK(owner), skMeta),
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

func tsNano(t time.Time) types.AttributeValue { return s(t.UTC().Format(time.RFC3339Nano)) }

var _ keys.Store = (*Store)(nil)
