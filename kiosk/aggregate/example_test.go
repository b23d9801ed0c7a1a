package aggregate_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/quartierhub/quartierhub/kiosk/aggregate"
)

// The terminal's agent wires the aggregator to the outbox with an EmitFunc
// that submits each minute as a ClassSensor record of type "sensor_minute".
func Example() {
	emit := aggregate.EmitFunc(func(ctx context.Context, a aggregate.Aggregate) error {
		payload, err := json.Marshal(a)
		if err != nil {
			return err
		}
		fmt.Println(string(payload)) // agent: outbox.Submit(ctx, "sensor_minute", outbox.ClassSensor, payload)
		return nil
	})
	g := aggregate.New(emit, aggregate.Opts{})
	start := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for i, v := range []float64{412, 418, 421} {
		g.Add(aggregate.Reading{Sensor: "mhz19-0", Quantity: "co2", Unit: "ppm", Value: v, At: start.Add(time.Duration(i) * 20 * time.Second)})
	}
	_ = g.Flush(context.Background(), start.Add(2*time.Minute))
	// Output:
	// {"sensor":"mhz19-0","quantity":"co2","unit":"ppm","minute":"2026-03-01T10:00:00Z","count":3,"mean":417,"min":412,"max":421}
}
