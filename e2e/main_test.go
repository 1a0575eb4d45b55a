package e2e

import (
	"testing"

	"github.com/keygate/keygate/internal/testenv"
)

// operationsFile is what the suite proves each Lambda's role must grant; the
// stack's tests (infra/stack) check the template against it both ways.
const operationsFile = "../infra/stack/testdata/operations.json"

func TestMain(m *testing.M) { testenv.Main(m, testenv.CheckOperations(operationsFile)) }
