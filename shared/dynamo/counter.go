package dynamo

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keygate/keygate/shared/apierr"
	"github.com/keygate/keygate/shared/keys"
	"github.com/keygate/keygate/shared/metering"
)

const attrUsed = "used"

func daySK(day string) string { return "DAY#" + day }

// Increment counts one request on the key's counter for day, only while the
// counter is below limit: one atomic conditional update, exact under any
// concurrency. The day is part of the item's key, so a new day starts at zero
// whether or not TTL has removed old items yet.
func (st *Store) Increment(ctx context.Context, prefix, day string, limit int, expiresAt time.Time) (int, error) {
	out, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:           aws.String(st.Table),
		Key:                 itemKey(keyPK(prefix), daySK(day)),
		UpdateExpression:    aws.String("ADD #used :one SET #exp = if_not_exists(#exp, :exp)"),
		ConditionExpression: aws.String("attribute_not_exists(#used) OR #used < :limit"),
		ExpressionAttributeNames: map[string]string{
			"#used": attrUsed, "#exp": AttrExpiresAt,
		},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":one": n(1), ":limit": n(limit),
			":exp": &types.AttributeValueMemberN{Value: strconv.FormatInt(expiresAt.Unix(), 10)},
		},
		ReturnValues: types.ReturnValueUpdatedNew,
	})
	if isConditionFailed(err) {
		return 0, keys.ErrLimitReached
	}
	if err != nil {
		return 0, storeErr("count request", err)
	}
	v, ok := out.Attributes[attrUsed].(*types.AttributeValueMemberN)
	if !ok {
		return 0, apierr.Internal(errNoCount)
	}
	used, err := strconv.Atoi(v.Value)
	if err != nil {
		return 0, apierr.Internal(err)
	}
	return used, nil
}

// TouchLastUsed sets the key's lastUsedAt to now unless it is already newer
// than staleBefore, and never creates an item.
func (st *Store) TouchLastUsed(ctx context.Context, prefix string, now, staleBefore time.Time) error {
	_, err := st.DB.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(keyPK(prefix), skMeta),
		UpdateExpression:          aws.String("SET #last = :now"),
		ConditionExpression:       aws.String("attribute_exists(#pk) AND (attribute_not_exists(#last) OR #last < :stale)"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#last": attrLastUsedAt},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": ts(now), ":stale": ts(staleBefore)},
	})
	if isConditionFailed(err) {
		return nil
	}
	return storeErr("touch lastUsedAt", err)
}

// History returns the key's counts for the days from..to (YYYY-MM-DD,
// inclusive) with one Query on the key's partition.
func (st *Store) History(ctx context.Context, prefix, from, to string) (map[string]int, error) {
	in := &dynamodb.QueryInput{
		TableName:                aws.String(st.Table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#sk": AttrSK, "#used": attrUsed},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": s(keyPK(prefix)), ":from": s(daySK(from)), ":to": s(daySK(to)),
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
			sk, _ := item[AttrSK].(*types.AttributeValueMemberS)
			used, _ := item[attrUsed].(*types.AttributeValueMemberN)
			if sk == nil || used == nil || len(sk.Value) <= len("DAY#") {
				continue
			}
			c, _ := strconv.Atoi(used.Value)
			out[sk.Value[len("DAY#"):]] = c
		}
	}
	return out, nil
}

var _ metering.Counter = (*Store)(nil)
