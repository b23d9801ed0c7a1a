package pgtest

import (
	"strings"
	"testing"
)

func TestBinDir(t *testing.T) {
	t.Setenv("QH_PG_BIN", "/nonexistent")
	if _, err := BinDir(); err == nil || !strings.Contains(err.Error(), "QH_PG_BIN") {
		t.Errorf("BinDir with a bad QH_PG_BIN: %v", err)
	}
}
