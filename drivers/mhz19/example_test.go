package mhz19_test

import (
	"context"
	"fmt"
	"log"
	"os/signal"
	"syscall"
	"time"

	"github.com/quartierhub/quartierhub/drivers/mhz19"
	"github.com/quartierhub/quartierhub/drivers/serialport"
)

// A kiosk reads CO2 every 5 s from a sensor behind a udev symlink; the port
// owner reopens the port whenever the sensor vanishes or falls silent.
func Example() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	sensor, err := mhz19.New(mhz19.Opts{
		ABC:       mhz19.ABCOn, // the room is aired daily
		OnReading: func(r mhz19.Reading) { fmt.Println(r) },
		OnReject:  func(r mhz19.Reading, why error) { log.Print(why) },
	})
	if err != nil {
		log.Fatal(err)
	}
	port := serialport.New(serialport.Opts{
		Path:           "/dev/quartierhub/co2",
		Baud:           9600,
		SilenceTimeout: 30 * time.Second, // well above PollInterval + ReplyTimeout
	})
	go func() {
		// Calibrate in fresh outdoor air after 20 minutes there.
		time.Sleep(20 * time.Minute)
		if err := sensor.CalibrateZero(ctx); err != nil {
			log.Print(err)
		}
	}()
	if err := port.Run(ctx, sensor.Run); err != nil {
		log.Fatal(err)
	}
}
