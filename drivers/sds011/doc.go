// Package sds011 drives the Nova Fitness SDS011 laser particulate matter
// sensor (PM2.5 and PM10) on a 9600 baud 8N1 serial line.
//
// Sensor to host, 10 bytes: AA, C0 (data) or C5 (command reply), six
// payload bytes, a checksum (low byte of the sum of bytes 2…7) and AB. A
// data frame carries PM2.5 × 10 and PM10 × 10 as little-endian 16-bit
// numbers and the two-byte device id: PM2.5 12.3, PM10 45.6, id A1 60 is
// AA C0 7B 00 C8 01 A1 60 45 AB. Host to sensor, 19 bytes: AA B4 CMD
// d1…d12 id1 id2 CS AB, CS the low byte of the sum of bytes 2…16; id FF FF
// addresses any sensor (Laser Dust Sensor Control Protocol V1.3, §2–§7).
//
// # Modes
//
// In active mode (the factory default and Opts' zero value) the sensor sends
// a data frame about every second without being asked; in query mode it
// answers each query-data command with one data frame and is to be polled
// no faster than every 3 s. Active mode is the default because readings
// flow even from a sensor that ignores commands. The kiosk will rather use
// Query with a QueryInterval of a few seconds or more: the host then decides
// how often a reading is taken (one per interval instead of one per second
// for the UI and the hub to digest), and an unanswered question is a
// clearer sign of a dead sensor than an absence. Note that query mode by
// itself does not switch the laser off — the sensor keeps measuring between
// questions. The laser (rated about 8000 hours) is spared by a working
// period (the sensor sleeps and wakes by itself every n minutes) or by
// Sleep and Wake around the readings.
//
// Reporting mode and working period survive power-off; sleep does not. So
// every session (every time the port is opened) states what the driver
// wants instead of trusting what the sensor remembers: it sends "work" (or
// "sleep", if Sleep was the last word), sets the reporting mode and sets
// (or asks for) the working period. After a command, data frames may come
// before the reply in active mode: the driver keeps reading, delivering the
// readings, until the matching reply or Opts.ReplyTimeout.
//
// # Readings
//
// Readings settle about 30 s after the sensor wakes: readings taken within
// Opts.WarmUp of a session start or a Wake are delivered with WarmingUp set,
// not dropped. The sensor's range is 0.0–999.9 µg/m³; a frame with a
// value beyond it (the wire can carry up to 6553.5), or with PM2.5 above
// PM10 (PM10 is the mass of all particles up to 10 µm, PM2.5 included, so
// the firmware never reports that for real air — it signals a corrupted
// frame whose checksum happened to match, or a faulty sensor), is rejected:
// it goes to Opts.OnReject with the reason, is counted, and is logged when
// no OnReject is set. Nothing is dropped silently.
//
// # Silence
//
// What a sleeping sensor answers is disputed by the sources; the driver
// never depends on the reply to "work". It calls MarkAlive on its transport
// for every valid frame, and Run returns an error wrapping ErrSilent when
// the awake sensor sends no valid frame for Opts.Silence, so the port owner
// reports a fault and reopens the port. While the sensor sleeps (after
// Sleep) the driver does not expect frames; a port owner that watches for
// silence itself must then allow for it.
//
// Smoke test on hardware:
//
//	devprobe --device sds011 --port /dev/ttyUSB0 --count 3
//	devprobe --device sds011 --port /dev/ttyUSB0 --interval 5s --count 3
//
// Sources: docs/protocols.md; Nova Fitness "Laser Dust Sensor
// Control Protocol V1.3"; TimOrme/sds011lib docs/understanding.md;
// sensor.community airrohr firmware.
package sds011
