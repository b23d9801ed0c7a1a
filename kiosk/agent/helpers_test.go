package agent_test

import (
	"bytes"
	"encoding/json"
)

func containsUID(b []byte) bool { return bytes.Contains(b, []byte("01004CA53B")) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
