// Package escpos drives ESC/POS receipt printers (Epson TM series and the
// many compatibles) on a serial line, 8N1.
//
// Baud rate: DefaultBaud is 9600, the default Epson documents for the
// TM-T88II/III serial interface (DIP switches 1-7 on, 1-8 off), a common
// setting on compatibles, and the rate every model supports; newer TMs are
// often set to 19200 or 38400. The driver never opens the port: set serialport.Opts.Baud to what
// the printer's self-test page lists (hold FEED while switching it on).
//
// A job is a Receipt: Text lines (alignment, bold, size 1–8 × 1–8), QR
// codes (model 2, module size, error correction), Feed and Cut. Render
// turns it into bytes (docs/protocols.md, "ESC/POS receipt printers"):
//
//	1B 40        initialize (resets the code table, so:)
//	1B 74 n      select the code table: the job's code page (CP858 = 19
//	             unless the text needs another)
//	1B 61 n      align; 1B 45 n bold; 1D 21 n size (bits 4–7 width−1,
//	             bits 0–3 height−1), each sent only when it changes
//	text 0A      a line in the code page
//	1D 28 6B …   QR: model (165), module size (167), error correction
//	             (169), store (180), print (181)
//	1B 64 n      print and feed n lines
//	1D 56 41/42 n  feed n motion units beyond the cutter, full/partial cut
//
// Code pages: CP858 (default: € and the German letters), CP437, CP850,
// CP1252, CP1251 (Ukrainian and Russian), CP1254 (Turkish) and CP1258
// (Vietnamese), with Epson's table numbers 19, 0, 2, 16, 46, 48, 52
// (Epson's ESC t table: PC858, PC437, PC850, WPC1252, WPC1251, WPC1254,
// WPC1258; python-escpos and escpos-printer-db number them alike); clones
// renumber tables, so CodePage.WithTable changes the number. Each job is
// printed in the first of the printer's code pages (Opts.CodePages; by
// default its CodePage, then CP1251, CP1254, CP1258) that has every letter
// of its text, selected with ESC t after ESC @, so nothing needs restoring
// (RenderBest). CP1258 has the Vietnamese vowels with their shape but not
// their tones: ế goes out as ê and a combining acute, which the printer
// draws over the letter. A character the code page lacks is printed as a
// visible stand-in — a transliteration (€ → EUR in CP437/CP850, „ → ",
// ß → ss where missing), the letter without its accent (ő → o), or '?' —
// and counted in Rendered.Replaced and Unmapped, never dropped; when no
// page has every letter, the job is logged once, naming the scripts
// missing, not the text. Control characters in text become '?' (tab: a
// space), so text cannot carry commands; QR data must not contain the byte
// 0x10.
//
// Status: the real-time request DLE EOT n (10 04 n) is answered with one
// byte of the form 0xx1xx10 even when the printer is offline. The driver
// asks n = 1 (online), 2 (cover, paper end, error), 4 (paper sensors) and,
// on an error, 3 (cause), one request at a time (the printer allows four
// outstanding) so that a lost reply is never taken for the next one's.
// Scanner frames what the printer sends: replies, automatic status blocks
// (GS a, first byte xxx1xx00, which the driver does not enable but skips),
// XON/XOFF, and noise.
//
// Flow control: tarm/serial sets neither RTS/CTS nor IXON, so the driver
// honours XON/XOFF itself. Since the operating system buffers whatever is
// written, jobs go out in chunks paced at the line rate (Opts.Baud, which
// should match the port's): an XOFF then stops the job within a chunk.
//
// Printer.Run polls the status every Opts.StatusInterval and reports
// changes (ready, paper near end, paper out, cover open, fault, offline,
// unreachable, recovered) through Opts.OnStatus. Print checks a fresh status
// first and refuses a job with ErrPaperOut, ErrCoverOpen, ErrFault or
// ErrOffline; otherwise it sends the job in chunks that end between
// commands, and asks for the status again afterwards. A printer that does
// not answer DLE EOT 1 within Opts.ReplyTimeout (twice) is off or
// unplugged: ErrNoReply, which is an ErrOffline.
//
// Smoke test on hardware:
//
//	devprobe --device escpos --port /dev/quartierhub/printer --status
//	devprobe --device escpos --port /dev/quartierhub/printer --print 'Grüße\n5,00 €' --qr https://example.com
//
// Sources: docs/protocols.md; python-escpos (constants.py,
// escpos.py); receipt-print-hq escpos-printer-db; fabienbellanger/escpos-rs
// status.rs; Epson TM-T88II/III and TM-U220 technical references, Citizen
// CT-S280 manual.
package escpos

// DefaultBaud is the baud rate to open a printer's port with unless its
// self-test page says otherwise.
const DefaultBaud = 9600
