package dynamo

import (
	"encoding/json"
	"fmt"

	"github.com/aws/aws-lambda-go/events"

	"github.com/keygate/keygate/shared/audit"
)

// StreamFilterPattern is the DynamoDB Streams event filter of the publisher
// Lambda (infra sets it on the event source mapping): only audit items that
// are final records, whatever else the table writes (every metered request
// updates a budget) never invokes it.
const StreamFilterPattern = `{"eventName":["INSERT","MODIFY"],"dynamodb":{"NewImage":{"pk":{"S":[{"prefix":"` + auditPrefix + `"}]},"state":{"S":["` + string(audit.StateFinal) + `"]}}}}`

// AuditFromStream reads the final audit record a stream record's new image
// holds; false for anything else (the filter above should have kept it
// away).
func AuditFromStream(r events.DynamoDBEventRecord) (audit.Record, bool, error) {
	if r.EventName != "INSERT" && r.EventName != "MODIFY" {
		return audit.Record{}, false, nil
	}
	img := r.Change.NewImage
	text := func(name string) string {
		if v, ok := img[name]; ok && v.DataType() == events.DataTypeString {
			return v.String()
		}
		return ""
	}
	o, ok := auditOwner(text(AttrPK))
	if !ok || text(attrState) != string(audit.StateFinal) {
		return audit.Record{}, false, nil
	}
	var rec audit.Record
	if err := json.Unmarshal([]byte(text(attrRecord)), &rec); err != nil {
		return audit.Record{}, false, fmt.Errorf("decode audit record %s: %w", text(AttrSK), err)
	}
	rec.Owner = o
	return rec, true, nil
}
