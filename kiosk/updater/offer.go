package updater

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"unicode"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/kiosk/updater/handoff"
)

// OfferFile is the name of the offer file in the agent's data directory:
// the heartbeat answer's `update` (api.UpdateOffer) as the agent last
// received it, absent when the hub offers nothing. The updater installs
// only the version offered there, and only after TUF has verified it.
const OfferFile = handoff.OfferFile

// MaxOfferSize bounds the offer file: an offer is a few hundred bytes.
const MaxOfferSize = 16 << 10

// maxRolloutID bounds the rollout id, which the updater only logs.
const maxRolloutID = 128

// ErrNoOffer means the hub offers nothing to install.
var ErrNoOffer = errors.New("updater: no update offered")

// ParseOffer decodes an offer file written by another process (the agent,
// from the hub's answer), refusing unknown fields, trailing data, a
// version that is not a plain release version, a target that is not that
// version's release for arch, and an invalid maintenance window. The
// offer is only a hint of which version to install: its artifact is
// still verified through TUF.
func ParseOffer(data []byte, arch string) (api.UpdateOffer, error) {
	var o api.UpdateOffer
	if len(data) > MaxOfferSize {
		return o, fmt.Errorf("updater: offer: %d bytes, more than %d", len(data), MaxOfferSize)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return api.UpdateOffer{}, fmt.Errorf("updater: offer: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return api.UpdateOffer{}, errors.New("updater: offer: trailing data")
	}
	if !ValidVersion(o.Version) {
		return api.UpdateOffer{}, fmt.Errorf("updater: offer: invalid version %.64q", o.Version)
	}
	if want := TargetName(o.Version, arch); o.Target != want {
		return api.UpdateOffer{}, fmt.Errorf("updater: offer: target %.200q is not %s", o.Target, want)
	}
	if len(o.RolloutID) > maxRolloutID || !printable(o.RolloutID) {
		return api.UpdateOffer{}, errors.New("updater: offer: rollout_id too long or not printable")
	}
	if o.Window != nil {
		if err := o.Window.Validate(); err != nil {
			return api.UpdateOffer{}, fmt.Errorf("updater: offer: %w", err)
		}
	}
	return o, nil
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) || r == unicode.ReplacementChar {
			return false
		}
	}
	return true
}

// ReadOffer reads and checks the offer file at path. A missing file is
// ErrNoOffer.
func ReadOffer(path, arch string) (api.UpdateOffer, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return api.UpdateOffer{}, ErrNoOffer
	}
	if err != nil {
		return api.UpdateOffer{}, fmt.Errorf("updater: offer: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxOfferSize+1))
	if err != nil {
		return api.UpdateOffer{}, fmt.Errorf("updater: offer: %w", err)
	}
	return ParseOffer(data, arch)
}

// readOffer reads the configured offer; no OfferPath means no offers.
func (u *Updater) readOffer() (api.UpdateOffer, error) {
	if u.cfg.OfferPath == "" {
		return api.UpdateOffer{}, ErrNoOffer
	}
	return ReadOffer(u.cfg.OfferPath, u.cfg.Arch)
}
