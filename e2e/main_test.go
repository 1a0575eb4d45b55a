package e2e

import (
	"testing"

	"github.com/keygate/keygate/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
