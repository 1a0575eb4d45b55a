package dynamo

import (
	"context"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keygate/keygate/shared/keys"
)

// attrVoidedAt marks a void key item: a prefix a rotation claimed for a
// successor that was never written, now closed to it for good. A void item
// has no prefix attribute (GetKey: not found; UpdateKey: condition fails)
// and no index attributes (never listed).
const attrVoidedAt = "voidedAt"

// voidRetention is how long a void item is kept: far longer than any request
// that could still try to write the successor (a Lambda's timeout).
const voidRetention = 7 * 24 * time.Hour

// VoidPrefix writes a void item where the key with prefix would go, unless a
// key is stored there (keys.ErrPrefixTaken). Voiding a void prefix again
// succeeds.
func (st *Store) VoidPrefix(ctx context.Context, prefix string, now time.Time) error {
	ctx, cancel := st.call(ctx)
	defer cancel()
	item := itemKey(keyPK(prefix), skMeta)
	item[attrVoidedAt] = ts(now)
	item[AttrExpiresAt] = n64(now.Add(voidRetention).Unix())
	_, err := st.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                aws.String(st.Table),
		Item:                     item,
		ConditionExpression:      aws.String("attribute_not_exists(#pk) OR attribute_exists(#void)"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrPK, "#void": attrVoidedAt},
	})
	if isConditionFailed(err) {
		return keys.ErrPrefixTaken
	}
	return storeErr("void key prefix", err)
}

// isVoid reports whether a key item read by primary key is a void item.
func isVoid(item map[string]types.AttributeValue) bool {
	_, ok := item[attrVoidedAt]
	return ok
}
