// Package drivers is the root of Quartierhub's device layer: one package per
// serial device (rdm6300, pn532, escpos, sds011, mhz19), the port owner
// (serialport) that opens, watches and reopens ports, and byte-accurate
// simulators (sim) that speak each device's protocol over a pseudo-terminal.
//
// Nothing here imports the kiosk or the hub: arrows never run back.
//
// Every driver follows one shape, modelled on periph:
//
//   - A driver never opens a port. Its session method Run(ctx, rw) speaks the
//     protocol over an io.ReadWriter until ctx ends or the transport fails.
//     serialport.Port owns the real port and calls Run again after reopening.
//   - A read returns an arbitrary chunk. Framers keep leftovers across reads,
//     hunt for headers and drop one byte on a bad frame (see docs/protocols.md).
//   - A zero-byte read with a nil error means "no data yet": serialport turns
//     tarm/serial's (0, io.EOF) on a read timeout into that.
//   - When a valid frame arrives the driver calls MarkAlive on its transport if
//     it has one, so the owner can tell a silent device from a live one.
//   - Options are an Opts struct with documented zero values; time is
//     injectable through Opts.Now.
package drivers
