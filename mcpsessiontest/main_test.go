package mcpsessiontest_test

import (
	"testing"

	"github.com/mcpsession/mcpsession/mcpsessiontest"
)

func TestMain(m *testing.M) { mcpsessiontest.Main(m) }
