package pn532

import (
	"errors"
	"fmt"
)

// Firmware is what GetFirmwareVersion reports (UM0701 §7.2.2).
type Firmware struct {
	// IC is 0x32 for a PN532.
	IC byte
	// Version and Revision, e.g. 1 and 6 for firmware 1.6.
	Version, Revision byte
	// Support is a bit field: 1 ISO/IEC 14443 type A, 2 type B, 4 ISO 18092.
	Support byte
}

func (f Firmware) String() string {
	return fmt.Sprintf("PN5%02X firmware %d.%d (support %02X)", f.IC, f.Version, f.Revision, f.Support)
}

// ParseFirmware decodes a GetFirmwareVersion response after its code (D5 03).
func ParseFirmware(data []byte) (Firmware, error) {
	if len(data) != 4 {
		return Firmware{}, fmt.Errorf("pn532: firmware version: %d bytes, want 4", len(data))
	}
	return Firmware{IC: data[0], Version: data[1], Revision: data[2], Support: data[3]}, nil
}

// Target is one ISO/IEC 14443 type A card found by InListPassiveTarget at
// 106 kbps (UM0701 §7.3.5, TargetData for BrTy 00).
type Target struct {
	// Tg is the logical number the PN532 gave the target.
	Tg byte
	// SensRes is ATQA as the PN532 sends it, e.g. 00 04 for MIFARE Classic.
	SensRes [2]byte
	// SelRes is SAK, e.g. 08 for MIFARE Classic 1K.
	SelRes byte
	// UID is NFCID1: 4, 7 or 10 bytes.
	UID []byte
	// ATS is the answer to select of ISO/IEC 14443-4 cards, else nil.
	ATS []byte
}

func (t Target) String() string {
	return fmt.Sprintf("pn532 target %d: ATQA %02X%02X SAK %02X, %d-byte UID", t.Tg, t.SensRes[0], t.SensRes[1], t.SelRes, len(t.UID))
}

// errMalformed marks a checksum-valid response whose content makes no sense.
var errMalformed = errors.New("malformed target data")

// ParseTargets decodes an InListPassiveTarget response for 106 kbps type A
// after its code (D5 4B): NbTg, then per target Tg, SENS_RES (2), SEL_RES,
// NFCIDLength, NFCID1 and, for ISO/IEC 14443-4 cards (SEL_RES bit 5), ATS.
func ParseTargets(data []byte) ([]Target, error) {
	if len(data) < 1 {
		return nil, fmt.Errorf("pn532: targets: %w: empty", errMalformed)
	}
	nb := int(data[0])
	if nb > 2 {
		return nil, fmt.Errorf("pn532: targets: %w: %d targets", errMalformed, nb)
	}
	rest := data[1:]
	var ts []Target
	for range nb {
		if len(rest) < 5 {
			return nil, fmt.Errorf("pn532: targets: %w: short target", errMalformed)
		}
		t := Target{Tg: rest[0], SensRes: [2]byte{rest[1], rest[2]}, SelRes: rest[3]}
		n := int(rest[4])
		rest = rest[5:]
		if !validUIDLen(n) || len(rest) < n {
			return nil, fmt.Errorf("pn532: targets: %w: UID length %d", errMalformed, n)
		}
		t.UID = append([]byte(nil), rest[:n]...)
		rest = rest[n:]
		// ATS (its first byte TL counts itself) follows only for cards
		// that announce ISO/IEC 14443-4; some firmware omits it.
		if t.SelRes&0x20 != 0 && len(rest) > 0 {
			tl := int(rest[0])
			if tl < 1 || tl > len(rest) {
				return nil, fmt.Errorf("pn532: targets: %w: ATS length %d", errMalformed, tl)
			}
			t.ATS = append([]byte(nil), rest[:tl]...)
			rest = rest[tl:]
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// TargetData encodes one type A target as InListPassiveTarget reports it
// (without NbTg), the inverse of ParseTargets. SENS_RES follows the UID
// size as ISO/IEC 14443-3 says (bits 7–6 of ATQA: single, double, triple).
func TargetData(tg byte, uid []byte) []byte {
	sens, sel := [2]byte{0x00, 0x04}, byte(0x08) // MIFARE Classic 1K
	switch len(uid) {
	case 7:
		sens, sel = [2]byte{0x00, 0x44}, 0x00 // MIFARE Ultralight / NTAG
	case 10:
		sens, sel = [2]byte{0x00, 0x84}, 0x00
	}
	out := []byte{tg, sens[0], sens[1], sel, byte(len(uid))}
	return append(out, uid...)
}
