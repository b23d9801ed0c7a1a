// Package mhz19 drives the Winsen MH-Z19B NDIR CO2 sensor on a 9600 baud
// 8N1 serial line.
//
// The host always asks first. Every frame is 9 bytes (Winsen MH-Z19B manual,
// "Communication protocol"):
//
//	command   FF 01 CMD d3 d4 d5 d6 d7 CS
//	response  FF CMD b2 b3 b4 b5 b6 b7 CS
//
// CS = (0xFF − (sum of bytes 1…7 mod 256)) + 1, so bytes 1…8 sum to 0 mod
// 256. A read (0x86) is answered with CO2 in bytes 2–3 (high, low), an
// undocumented, coarse internal temperature + 40 °C in byte 4 and an
// undocumented status in byte 5: FF 86 02 20 00 00 00 00 58 is 544 ppm.
// ABC (0x79), zero (0x87), span (0x88) and detection range (0x99) commands
// get no documented reply, so Sensor sends them without waiting and then
// reads once to see that the sensor is still alive.
//
// Sensor polls a read every Opts.PollInterval. Before each command it
// flushes input, so a late reply to an earlier command is not mistaken for
// the answer; the framer resyncs on FF 86 but only trusts a frame whose
// checksum holds, since FF also occurs inside data. Opts.MaxMissed reads in
// a row without a valid reply end the session with ErrNoReply, so the port
// owner reports a fault and reopens the port.
//
// Readings during warm-up (Opts.WarmUp after each session start, default
// 3 min; the manual gives a 3 min preheat, during which some units answer a
// fixed 410 or 500 ppm) carry WarmingUp = true. Readings outside the
// physical range — above the detection range the sensor is set to, or below
// MinPlausiblePPM — are not passed to OnReading but to OnReject, with the
// reason.
//
// A port owner with a silence timeout (serialport.Opts.SilenceTimeout) must
// allow more than PollInterval + ReplyTimeout between valid frames.
//
// Sources: docs/protocols.md; Winsen MH-Z19B manual v1.0;
// revspace.nl/MHZ19; esphome components/mhz19/mhz19.cpp.
package mhz19
