package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keygate/keygate/shared/keys"
)

// The byDue index (gsi2pk, gsi2sk) is sparse: only items with something due
// at a time are in it.
//
//	gsi2pk=EXPIRES#<day>    gsi2sk=<keyExpiresAt>#<prefix>   a key that expires that UTC day
//	gsi2pk=AUDIT#PENDING    gsi2sk=<due>                     an audit intent (audit.go)
//
// The daily key.expiring job reads the next seven days' partitions; the audit
// sweep reads the intents that are due. It projects what the expiring job
// filters on, so keys already noticed cost no read.
const (
	AttrGSI2PK = "gsi2pk"
	AttrGSI2SK = "gsi2sk"
	IndexByDue = "byDue"

	// attrExpiryNoticed is the expiry a key.expiring notice was sent for
	// (RFC 3339): a changed expiry gets its own notice.
	attrExpiryNoticed = "expiryNoticed"
	// limitNoticePrefix: ln_<prefix> on a budget is the UTC day the key's
	// key.limit_reached was recorded, so a later 429 that day, whose refusal
	// read already returns the budget, knows without another call.
	limitNoticePrefix = "ln_"

	expiresPrefix = "EXPIRES#"
)

// DueAttributes are what the byDue index projects besides the keys.
var DueAttributes = []string{attrExpiresAt, attrExpiryNoticed, attrStatus, attrRotatedTo}

// expiryIndex is the byDue entry of a key record that expires at t (none
// when it never expires). marshalKey adds it to every new key.
func expiryIndex(prefix string, t time.Time) map[string]types.AttributeValue {
	if t.IsZero() {
		return nil
	}
	return map[string]types.AttributeValue{
		AttrGSI2PK: s(expiresPrefix + t.UTC().Format(time.DateOnly)),
		AttrGSI2SK: s(t.UTC().Format(time.RFC3339) + "#" + prefix),
	}
}

// indexExpiry moves a key's byDue entry with a changed expiry (a zero t
// removes it). UpdateKey calls it whenever it sets or removes the expiry.
func (e *expr) indexExpiry(prefix string, t time.Time) {
	if t.IsZero() {
		e.remove = append(e.remove, e.name(AttrGSI2PK), e.name(AttrGSI2SK))
		return
	}
	for k, v := range expiryIndex(prefix, t) {
		e.setAttr(k, v)
	}
}

// ExpiringKeys lists the keys whose expiry falls in [from, to), from the
// byDue index: one Query per UTC day, no scan. The index is eventually
// consistent and its entries are what the projection shows; callers read the
// key before acting.
func (st *Store) ExpiringKeys(ctx context.Context, from, to time.Time) ([]keys.ExpiryCandidate, error) {
	ctx, cancel := st.call(ctx)
	defer cancel()
	var out []keys.ExpiryCandidate
	for day := from.UTC().Truncate(24 * time.Hour); day.Before(to); day = day.Add(24 * time.Hour) {
		in := &dynamodb.QueryInput{
			TableName:                 aws.String(st.Table),
			IndexName:                 aws.String(IndexByDue),
			KeyConditionExpression:    aws.String("#pk = :pk"),
			ExpressionAttributeNames:  map[string]string{"#pk": AttrGSI2PK},
			ExpressionAttributeValues: map[string]types.AttributeValue{":pk": s(expiresPrefix + day.Format(time.DateOnly))},
		}
		p := dynamodb.NewQueryPaginator(st.DB, in)
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return nil, storeErr("list expiring keys", err)
			}
			for _, item := range page.Items {
				c := keys.ExpiryCandidate{
					Prefix:    str(item, AttrPK)[len("KEY#"):],
					ExpiresAt: tm(item, attrExpiresAt),
					Noticed:   tm(item, attrExpiryNoticed),
					Status:    keys.Status(str(item, attrStatus)),
					RotatedTo: str(item, attrRotatedTo),
				}
				if !c.ExpiresAt.Before(from) && c.ExpiresAt.Before(to) {
					out = append(out, c)
				}
			}
		}
	}
	return out, nil
}

// MarkExpiryNoticed records that the key's expiry at t was noticed, once:
// false when it already was, or when the key no longer expires at t or is no
// longer active.
func (st *Store) MarkExpiryNoticed(ctx context.Context, prefix string, t time.Time) (bool, error) {
	ctx, cancel := st.call(ctx)
	defer cancel()
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:        aws.String(st.Table),
		Key:              itemKey(keyPK(prefix), skMeta),
		UpdateExpression: aws.String("SET #n = :t"),
		ConditionExpression: aws.String("attribute_exists(#pk) AND #exp = :t AND #status = :active AND " +
			"(attribute_not_exists(#n) OR #n <> :t)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#n": attrExpiryNoticed, "#exp": attrExpiresAt, "#status": attrStatus},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":t": ts(t), ":active": s(string(keys.Active)),
		},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	return err == nil, storeErr("mark expiry noticed", err)
}

// ExpiryNoticed is the expiry a key.expiring notice was recorded for (zero:
// none), strongly consistent.
func (st *Store) ExpiryNoticed(ctx context.Context, prefix string) (time.Time, error) {
	item, err := st.get(ctx, "read expiry notice", keyPK(prefix), skMeta)
	if err != nil {
		return time.Time{}, err
	}
	return tm(item, attrExpiryNoticed), nil
}

// MarkLimitReached records that the key reached its limit on day, by the
// audit record id, once: false when it already was that day (or the budget
// is gone). The mark is day#id, so the verifier tells which record won.
func (st *Store) MarkLimitReached(ctx context.Context, budget, prefix, day, id string) (bool, error) {
	ctx, cancel := st.call(ctx)
	defer cancel()
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(budgetPK(budget), skState),
		UpdateExpression:          aws.String("SET #ln = :mark"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND (attribute_not_exists(#ln) OR #ln < :day)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#ln": limitNoticePrefix + prefix},
		ExpressionAttributeValues: map[string]types.AttributeValue{":day": s(day), ":mark": s(day + "#" + id)},
	})
	if isConditionFailed(err) {
		return false, nil
	}
	return err == nil, storeErr("mark limit reached", err)
}

// LimitNoticed is the mark of the key's last key.limit_reached (day#record
// id; "" never), strongly consistent.
func (st *Store) LimitNoticed(ctx context.Context, budget, prefix string) (string, error) {
	item, err := st.get(ctx, "read limit notice", budgetPK(budget), skState)
	if err != nil {
		return "", err
	}
	return str(item, limitNoticePrefix+prefix), nil
}

// LimitNoticedIn reads the day of a key's limit notice off a budget item as
// the meter's refusal read returned it (for the lead's unmarshalBudget: one
// line there makes a later 429 of the same day cost no call at all).
func LimitNoticedIn(item map[string]types.AttributeValue, prefix string) string {
	return str(item, limitNoticePrefix+prefix)
}

// ReadBudget reads one budget with a strongly consistent GetItem (the
// audit verifier's read; ok is false when there is none).
func (st *Store) ReadBudget(ctx context.Context, id string) (keys.Budget, bool, error) {
	b, err := st.getBudget(ctx, id)
	return b, err == nil && b.ID != "", err
}
