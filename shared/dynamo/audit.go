package dynamo

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/keygate/keygate/shared/audit"
)

// The audit log's items (see the package comment):
//
//	pk=AUDIT#<kind>#<owner>   sk=<time>#<seq>#<id>   a record (state final) or an intent (state pending)
//
// An owner's log is one partition read newest first. A record is one item of
// about 0.5-1 KB: the record's JSON (what the API shows and the event
// carries), its action and key prefix (for filtering), and the TTL. An intent
// also holds its evidence and sits in the byDue index (gsi2pk=AUDIT#PENDING,
// gsi2sk=<due time>) until it is finalized or dropped, which is how the sweep
// finds the intents of crashed requests without a scan.
const (
	attrState     = "state"
	attrRecord    = "record"
	attrAction    = "action"
	attrKeyPrefix = "keyPrefix"
	attrEvidence  = "evidence"
	attrResolved  = "resolved"

	auditPrefix = "AUDIT#"
	// duePending is the byDue partition of audit intents.
	duePending = "AUDIT#PENDING"
)

// AuditPK is the partition of an owner's log.
func AuditPK(o audit.Owner) string { return auditPrefix + o.Kind + "#" + o.ID }

// auditOwner reads an owner back from its partition key.
func auditOwner(pk string) (audit.Owner, bool) {
	rest, ok := strings.CutPrefix(pk, auditPrefix)
	if !ok {
		return audit.Owner{}, false
	}
	kind, id, ok := strings.Cut(rest, "#")
	return audit.Owner{Kind: kind, ID: id}, ok && id != ""
}

func marshalAudit(it audit.Item) (map[string]types.AttributeValue, error) {
	rec, err := json.Marshal(it.Record)
	if err != nil {
		return nil, fmt.Errorf("encode audit record: %w", err)
	}
	item := itemKey(AuditPK(it.Record.Owner), it.Pos)
	item[attrState] = s(string(it.State))
	item[attrRecord] = s(string(rec))
	item[attrAction] = s(string(it.Record.Action))
	item[attrOwnerKind] = s(it.Record.Owner.Kind)
	item[attrOwner] = s(it.Record.Owner.ID)
	item[AttrExpiresAt] = n64(it.ExpiresAt.Unix())
	if it.Record.Key != nil && it.Record.Key.Prefix != "" {
		item[attrKeyPrefix] = s(it.Record.Key.Prefix)
	}
	if it.Resolved {
		item[attrResolved] = &types.AttributeValueMemberBOOL{Value: true}
	}
	if it.State == audit.StatePending {
		ev, err := json.Marshal(it.Evidence)
		if err != nil {
			return nil, fmt.Errorf("encode audit evidence: %w", err)
		}
		item[attrEvidence] = s(string(ev))
		item[AttrGSI2PK] = s(duePending)
		item[AttrGSI2SK] = tsNano(it.Due)
	}
	return item, nil
}

// unmarshalAudit reads an audit item; the record's owner comes from its
// partition.
func unmarshalAudit(item map[string]types.AttributeValue) (audit.Item, error) {
	it := audit.Item{State: audit.State(str(item, attrState)), Pos: str(item, AttrSK)}
	if err := json.Unmarshal([]byte(str(item, attrRecord)), &it.Record); err != nil {
		return audit.Item{}, fmt.Errorf("decode audit record %s: %w", it.Pos, err)
	}
	o, ok := auditOwner(str(item, AttrPK))
	if !ok {
		return audit.Item{}, fmt.Errorf("audit item %s has no owner partition", it.Pos)
	}
	it.Record.Owner = o
	if ev := str(item, attrEvidence); ev != "" {
		if err := json.Unmarshal([]byte(ev), &it.Evidence); err != nil {
			return audit.Item{}, fmt.Errorf("decode audit evidence %s: %w", it.Pos, err)
		}
	}
	it.Due = tm(item, AttrGSI2SK)
	if sec, ok := num(item, AttrExpiresAt); ok {
		it.ExpiresAt = time.Unix(sec, 0).UTC()
	}
	if v, ok := item[attrResolved].(*types.AttributeValueMemberBOOL); ok {
		it.Resolved = v.Value
	}
	return it, nil
}

// maxBatchWrite is BatchWriteItem's limit of items per call.
const maxBatchWrite = 25

// PutIntents writes new intents: one PutItem, or batches of 25.
func (st *Store) PutIntents(ctx context.Context, items []audit.Item) error {
	ctx, cancel := st.call(ctx)
	defer cancel()
	if len(items) == 1 {
		item, err := marshalAudit(items[0])
		if err != nil {
			return err
		}
		_, err = st.DB.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.Table), Item: item})
		return storeErr("write audit intent", err)
	}
	for start := 0; start < len(items); start += maxBatchWrite {
		var reqs []types.WriteRequest
		for _, it := range items[start:min(len(items), start+maxBatchWrite)] {
			item, err := marshalAudit(it)
			if err != nil {
				return err
			}
			reqs = append(reqs, types.WriteRequest{PutRequest: &types.PutRequest{Item: item}})
		}
		pending := map[string][]types.WriteRequest{st.Table: reqs}
		for wait := 10 * time.Millisecond; len(pending) > 0; wait *= 2 {
			out, err := st.DB.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: pending})
			if err != nil {
				return storeErr("write audit intents", err)
			}
			pending = out.UnprocessedItems
			if len(pending) > 0 {
				select {
				case <-ctx.Done():
					return storeErr("write audit intents", ctx.Err())
				case <-time.After(wait):
				}
			}
		}
	}
	return nil
}

// Finalize writes the record over its intent, unless it is already final.
// An intent a resolution dropped meanwhile is written again: its request
// knows the change landed.
func (st *Store) Finalize(ctx context.Context, it audit.Item) error {
	it.State = audit.StateFinal
	item, err := marshalAudit(it)
	if err != nil {
		return err
	}
	ctx, cancel := st.call(ctx)
	defer cancel()
	_, err = st.DB.PutItem(ctx, &dynamodb.PutItemInput{
		TableName:                 aws.String(st.Table),
		Item:                      item,
		ConditionExpression:       aws.String("attribute_not_exists(#pk) OR #state = :pending"),
		ExpressionAttributeNames:  map[string]string{"#pk": AttrPK, "#state": attrState},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pending": s(string(audit.StatePending))},
	})
	if isConditionFailed(err) {
		return audit.ErrNotPending
	}
	return storeErr("finalize audit record", err)
}

// Drop deletes an intent while it is one.
func (st *Store) Drop(ctx context.Context, it audit.Item) error {
	ctx, cancel := st.call(ctx)
	defer cancel()
	_, err := st.DB.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(st.Table),
		Key:                       itemKey(AuditPK(it.Record.Owner), it.Pos),
		ConditionExpression:       aws.String("#state = :pending"),
		ExpressionAttributeNames:  map[string]string{"#state": attrState},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pending": s(string(audit.StatePending))},
	})
	if isConditionFailed(err) {
		return audit.ErrNotPending
	}
	return storeErr("drop audit intent", err)
}

// Page reads one page of an owner's partition newest first, with a strongly
// consistent Query (a record written by the caller's previous request is
// there).
func (st *Store) Page(ctx context.Context, o audit.Owner, after string, n int, keyPrefix string) ([]audit.Item, string, bool, error) {
	ctx, cancel := st.call(ctx)
	defer cancel()
	names := map[string]string{"#pk": AttrPK}
	values := map[string]types.AttributeValue{":pk": s(AuditPK(o))}
	cond := "#pk = :pk"
	if after != "" {
		names["#sk"], values[":after"] = AttrSK, s(after)
		cond += " AND #sk < :after"
	}
	in := &dynamodb.QueryInput{
		TableName:                 aws.String(st.Table),
		KeyConditionExpression:    aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
		ScanIndexForward:          aws.Bool(false),
		ConsistentRead:            aws.Bool(true),
		Limit:                     aws.Int32(int32(max(1, n))),
	}
	if keyPrefix != "" {
		names["#kp"], values[":kp"] = attrKeyPrefix, s(keyPrefix)
		in.FilterExpression = aws.String("#kp = :kp")
	}
	out, err := st.DB.Query(ctx, in)
	if err != nil {
		return nil, "", false, storeErr("read audit log", err)
	}
	items := make([]audit.Item, 0, len(out.Items))
	for _, item := range out.Items {
		it, err := unmarshalAudit(item)
		if err != nil {
			return nil, "", false, err
		}
		items = append(items, it)
	}
	if len(out.LastEvaluatedKey) == 0 {
		return items, "", false, nil
	}
	return items, str(out.LastEvaluatedKey, AttrSK), true, nil
}

// Get reads one audit item, strongly consistent.
func (st *Store) Get(ctx context.Context, o audit.Owner, pos string) (audit.Item, bool, error) {
	item, err := st.get(ctx, "read audit item", AuditPK(o), pos)
	if err != nil || len(item) == 0 {
		return audit.Item{}, false, err
	}
	it, err := unmarshalAudit(item)
	return it, err == nil, err
}

// Due lists intents due at now from the byDue index, oldest first.
func (st *Store) Due(ctx context.Context, now time.Time, n int) ([]audit.ItemRef, error) {
	ctx, cancel := st.call(ctx)
	defer cancel()
	in := &dynamodb.QueryInput{
		TableName:                aws.String(st.Table),
		IndexName:                aws.String(IndexByDue),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk <= :now"),
		ExpressionAttributeNames: map[string]string{"#pk": AttrGSI2PK, "#sk": AttrGSI2SK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk": s(duePending), ":now": tsNano(now),
		},
		ScanIndexForward: aws.Bool(true),
	}
	var out []audit.ItemRef
	p := dynamodb.NewQueryPaginator(st.DB, in)
	for p.HasMorePages() && len(out) < n {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, storeErr("list due audit intents", err)
		}
		for _, item := range page.Items {
			o, ok := auditOwner(str(item, AttrPK))
			if ok && len(out) < n {
				out = append(out, audit.ItemRef{Owner: o, Pos: str(item, AttrSK)})
			}
		}
	}
	return out, nil
}

var _ audit.Store = (*Store)(nil)
