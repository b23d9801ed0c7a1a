package terminalapi

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
)

// benchBatch is a full batch of sensor records with payloads of about
// 200 bytes, as in ingestbench.
func benchBatch(tb testing.TB) []byte {
	recs := make([]api.Record, api.MaxBatchRecords)
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range recs {
		recs[i] = api.Record{ID: fmt.Sprintf("01JX%022d", i), Type: "sensor.sds011", Class: api.ClassSensor,
			CreatedAt: t0.Add(time.Duration(i) * time.Second),
			Payload:   json.RawMessage(fmt.Sprintf(`{"sensor":"sds011","pm25":%d.5,"pm10":%d.1,"pad":"%s"}`, i%50, i%80, strings.Repeat("q", 150)))}
	}
	data, err := json.Marshal(api.Batch{Records: recs})
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// BenchmarkDecodeBatch measures decodeBatch on a full batch.
func BenchmarkDecodeBatch(b *testing.B) {
	data := benchBatch(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := decodeBatch(data); err != nil {
			b.Fatal(err)
		}
	}
}
