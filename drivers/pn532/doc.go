// Package pn532 drives an NXP PN532 NFC controller (ISO/IEC 14443 type A
// cards) over its HSU serial interface, 115200 baud 8N1.
//
// Framing (NXP UM0701-02 §6.2.1): a normal information frame is
//
//	00 00 FF LEN LCS TFI PD0…PDn DCS 00
//
// where LEN counts TFI and data, (LEN + LCS) & FF = 0 and
// (TFI + PD0 + … + PDn + DCS) & FF = 0. TFI is D4 from the host and D5 from
// the PN532, whose response code is the command code + 1. An extended frame
// has LEN = LCS = FF followed by LENM LENL LCS. Special frames: ACK
// 00 00 FF 00 FF 00, NACK 00 00 FF FF 00 00 (the host asks for the last
// response again) and the application error frame 00 00 FF 01 FF 7F 81 00.
// Pre- and postamble may be longer, so Scanner hunts for the start code
// 00 FF and tolerates a missing postamble.
//
// Every command is written, acknowledged by an ACK frame and then answered
// (§6.2.2). Reader resends a command that is not acknowledged, asks with a
// NACK for a response that arrived damaged, aborts a command that does not
// answer by sending an ACK (§6.2.1.3) and returns an error from Run when the
// chip keeps not answering, so its port owner reports a fault and reopens.
//
// A session (Reader.Run) starts as libnfc's pn532_uart driver and esphome's
// pn532 component do: wake-up (0x55 followed by a run of 0x00, UM0701
// §7.2.11 / PN532 datasheet "HSU wake up condition"), SAMConfiguration in
// normal mode (§7.2.10), GetFirmwareVersion (§7.2.2) and RFConfiguration
// item 05 MaxRetries (§7.3.1) so that InListPassiveTarget (§7.3.5) gives up
// after a few activation attempts instead of waiting for a card forever.
// Then it polls InListPassiveTarget for one 106 kbps type A target every
// Opts.PollInterval and turns the answers into Presented and Removed events.
//
// Sources: docs/protocols.md; NXP UM0701-02 "PN532 User Manual"
// as quoted by Adafruit-PN532; asjdf/pn532; libnfc drivers/pn532_uart.c;
// esphome components/pn532.
package pn532
