// Package rdm6300 drives the RDM6300, a transmit-only 125 kHz EM4100 card
// reader on a 9600 baud 8N1 serial line.
//
// Frame (14 bytes): STX 0x02, ten uppercase ASCII hex characters (one
// version byte and four tag bytes), two ASCII hex characters of checksum
// (XOR of the five decoded bytes), ETX 0x03. Example: card 01 00 4C A5 3B,
// XOR D3, is 02 "01004CA53B" "D3" 03; the tag 0x004CA53B = 5023035 is the
// number often printed on the card.
//
// The module repeats the frame while a card stays in the field, at an
// undocumented interval (libraries treat the same tag within ~220–300 ms as
// still present). Reader de-duplicates those repeats into one presentation
// and reports removal when they stop for Opts.RemoveAfter.
//
// Sources: docs/protocols.md; arduino12/rdm6300; esphome
// components/rdm6300.
package rdm6300
