package storetest

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// minuteJSON is a sensor_minute payload as kiosk/aggregate writes it.
func minuteJSON(sensor, model, quantity, unit string, minute time.Time, mean, lo, hi float64, count, expected int) json.RawMessage {
	b, err := json.Marshal(map[string]any{"sensor": sensor, "model": model, "quantity": quantity, "unit": unit, "minute": minute.UTC().Format(time.RFC3339),
		"count": count, "mean": mean, "min": lo, "max": hi, "expected": expected})
	if err != nil {
		panic(err)
	}
	return b
}

// BenchmarkIngest measures IngestBatch of batches of 60 records (20
// minutes of one terminal: pm25, pm10 and co2): with minutes the hub
// stores as observations ("minutes"), and with payloads it does not read
// ("opaque"), which is what every record cost before observations.
func BenchmarkIngest(b *testing.B, open func(b *testing.B) store.Store) {
	for _, kind := range []string{"opaque", "minutes"} {
		b.Run(kind, func(b *testing.B) {
			s := open(b)
			ctx := context.Background()
			if err := s.CreateEnrolToken(ctx, store.EnrolToken{Hash: hash("bench"), TerminalName: "bench", Quarter: "Johannstadt", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Enroll(ctx, store.Enrolment{TokenHash: hash("bench"), TerminalID: "T-bench", PublicKey: key(1).Public().(ed25519.PublicKey), Now: t0}); err != nil {
				b.Fatal(err)
			}
			const perBatch = 60
			batches := make([][]api.Record, b.N)
			n := 0
			for i := range batches {
				recs := make([]api.Record, 0, perBatch)
				for len(recs) < perBatch {
					minute := t0.Add(time.Duration(n/3) * time.Minute)
					v := float64(n%37) + 0.5
					var p json.RawMessage
					switch {
					case kind == "opaque":
						p = json.RawMessage(fmt.Sprintf(`{"k":%d,"pad":"%060d"}`, n, n))
					case n%3 == 0:
						p = minuteJSON("sds011-0", "sds011", "pm25", "ug/m3", minute, v, v-0.5, v+1, 60, 60)
					case n%3 == 1:
						p = minuteJSON("sds011-0", "sds011", "pm10", "ug/m3", minute, v+3, v+2, v+5, 60, 60)
					default:
						p = minuteJSON("mhz19-0", "mhz19", "co2", "ppm", minute, 400+v, 399+v, 402+v, 12, 12)
					}
					recs = append(recs, api.Record{ID: ulid(n + 1), Type: "sensor_minute", Class: api.ClassSensor, CreatedAt: minute.Add(time.Minute), Payload: p})
					n++
				}
				batches[i] = recs
			}
			b.ResetTimer()
			for i := range batches {
				if _, err := s.IngestBatch(ctx, "T-bench", batches[i], t0.Add(time.Hour)); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*perBatch)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
