package cli

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
)

// Bounds of what card hash and pin hash read: a layer holds far fewer
// cards, and a UID or PIN line is short.
const (
	MaxCardUIDs    = 10_000
	maxCardUIDLine = 256
	maxPINLine     = 256
)

// MinPINLen is the shortest PIN pin hash accepts: the terminal takes any
// length up to api.MaxPINLen, but a PIN of one to three digits is guessed
// at the keypad.
const MinPINLen = 4

var errCardUID = errors.New("not a card UID: want 4 to 10 bytes in hex as the terminal's reader reports it " +
	"(e.g. 01004CA53B), pairs optionally separated by ':', '-' or spaces")

// ParseCardUID returns a card UID written as hex (either case, pairs
// optionally separated by ':', '-' or spaces, as phone apps show them) in
// the form the terminal's readers report it: upper-case hex without
// separators (drivers/pn532.FormatUID, drivers/rdm6300). The error never
// repeats the UID.
func ParseCardUID(s string) (string, error) {
	clean := strings.NewReplacer(":", "", "-", "", " ", "", "\t", "").Replace(strings.TrimSpace(s))
	if len(clean) < 8 || len(clean) > 20 || len(clean)%2 != 0 {
		return "", errCardUID
	}
	if _, err := hex.DecodeString(clean); err != nil {
		return "", errCardUID
	}
	return strings.ToUpper(clean), nil
}

// HashCardUID is the keyed hash a terminal makes of a card (its
// kiosk/session.HashCard, which the hub may not import): hex
// HMAC-SHA256(key, the UID trimmed and in upper case). A test holds the
// two equal.
func HashCardUID(key []byte, uid string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(strings.ToUpper(strings.TrimSpace(uid))))
	return hex.EncodeToString(mac.Sum(nil))
}

// cardHash prints the keyed hash of each card UID, for a layer's
// service_cards and moderator_cards. UIDs come as arguments or, with
// --stdin, one a line (kept out of shell history); blank lines are
// skipped. Neither the key nor a UID is ever printed.
func cardHash(ctx context.Context, args []string, o Opts) error {
	fs, data := flags("card hash")
	stdin := fs.Bool("stdin", false, "read the card UIDs from standard input, one a line, instead of arguments")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return helpError{fs}
		}
		return usageError{fs.Name() + ": " + err.Error()}
	}
	if err := data.check(fs.Name()); err != nil {
		return err
	}
	switch {
	case *stdin && fs.NArg() > 0:
		return usageError{"card hash: give the UIDs as arguments or with --stdin, not both"}
	case !*stdin && fs.NArg() == 0:
		return usageError{"card hash: give card UIDs as arguments, or --stdin to read them one a line"}
	}
	raw := fs.Args()
	if *stdin {
		var err error
		if raw, err = readCardUIDs(o.Stdin); err != nil {
			return err
		}
	}
	if len(raw) > MaxCardUIDs {
		return fmt.Errorf("card hash: more than %d UIDs", MaxCardUIDs)
	}
	// All are checked before the store is opened: a typo prints no
	// hashes, so no half list lands in a layer.
	uids := make([]string, len(raw))
	for i, s := range raw {
		u, err := ParseCardUID(s)
		if err != nil {
			return fmt.Errorf("card hash: UID %d: %w", i+1, err)
		}
		uids[i] = u
	}
	if len(uids) == 0 {
		return errors.New("card hash: no UIDs on standard input")
	}
	st, err := openStore(ctx, data)
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := terminalapi.DeploymentCardKey(ctx, st, o.Rand)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(o.Stdout)
	for _, u := range uids {
		fmt.Fprintln(w, HashCardUID(key, u))
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("card hash: %w", err)
	}
	// The key's ID, not the key: a terminal logs the same ID when it
	// takes the deployment's key, so an admin can tell the two match.
	_, err = fmt.Fprintf(o.Stderr, "card hash: %d UIDs hashed with the deployment's card key, ID %s\n", len(uids), api.CardKeyID(key))
	return err
}

// readCardUIDs reads one UID a line from r, blank lines skipped, bounded
// in line length and count.
func readCardUIDs(r io.Reader) ([]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, maxCardUIDLine), maxCardUIDLine)
	var uids []string
	line := 0
	for sc.Scan() {
		line++
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		if len(uids) == MaxCardUIDs {
			return nil, fmt.Errorf("card hash: more than %d UIDs", MaxCardUIDs)
		}
		uids = append(uids, sc.Text())
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return nil, fmt.Errorf("card hash: line %d: longer than %d bytes", line+1, maxCardUIDLine)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("card hash: read standard input: %w", err)
	}
	return uids, nil
}

// pinHash prints api.HashPIN of the PIN on standard input (one line), for
// a layer's service_pin and moderator_pin.
func pinHash(args []string, o Opts) error {
	fs := flag.NewFlagSet("pin hash", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return helpError{fs}
		}
		return usageError{fs.Name() + ": " + err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{"pin hash: the PIN is read from standard input, never taken as an argument"}
	}
	pin, err := readPIN(o.Stdin)
	if err != nil {
		return err
	}
	salt := make([]byte, 16)
	if _, err := io.ReadFull(o.Rand, salt); err != nil {
		return fmt.Errorf("pin hash: %w", err)
	}
	h, err := api.HashPIN(pin, salt, api.DefaultPINIterations)
	if err != nil {
		return fmt.Errorf("pin hash: %w", err)
	}
	_, err = fmt.Fprintln(o.Stdout, h)
	return err
}

// readPIN reads the first line of r and checks it is a PIN the terminal's
// keypad can type: MinPINLen to api.MaxPINLen digits.
func readPIN(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, maxPINLine+1)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("pin hash: read standard input: %w", err)
	}
	if len(line) > maxPINLine {
		return "", fmt.Errorf("pin hash: the first line is longer than %d bytes", maxPINLine)
	}
	pin := strings.TrimSpace(line)
	if pin == "" {
		return "", errors.New("pin hash: no PIN on standard input (read -rs PIN; echo \"$PIN\" | hub-server pin hash)")
	}
	if strings.Trim(pin, "0123456789") != "" || len(pin) < MinPINLen || len(pin) > api.MaxPINLen {
		return "", fmt.Errorf("pin hash: a PIN is %d to %d digits (the terminal's keypad has only digits)", MinPINLen, api.MaxPINLen)
	}
	return pin, nil
}
