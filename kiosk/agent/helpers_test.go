package agent_test

import (
	"bytes"
	"encoding/json"
	"io"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

func containsUID(b []byte) bool { return bytes.Contains(b, []byte("01004CA53B")) }

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
