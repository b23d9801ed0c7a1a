//go:build cgo

package main

import (
	"context"
	"io"
	"log/slog"
	"os"

	"github.com/quartierhub/quartierhub/kiosk/config"
	"github.com/quartierhub/quartierhub/kiosk/speech"
)

// startSpeech starts the window's voice (espeak-ng) until ctx ends; nil
// when it cannot speak (logged once: the window then runs silent, its
// keys and focus ring still work).
func startSpeech(ctx context.Context, cfg config.Speech, log *slog.Logger) *speech.Espeak {
	var transcript io.Writer
	if cfg.Transcript != "" {
		f, err := os.OpenFile(cfg.Transcript, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			log.Warn("speech: no transcript", "err", err)
		} else {
			context.AfterFunc(ctx, func() { f.Close() })
			transcript = f
		}
	}
	spk, err := speech.New(speech.Options{Espeak: cfg.Espeak, Player: cfg.Player, HeadphonePlayer: cfg.HeadphonePlayer,
		Volume: cfg.Volume, Transcript: transcript, Logger: log})
	if err != nil {
		log.Warn("speech: the window runs silent", "err", err)
		return nil
	}
	go func() {
		if err := spk.Run(ctx); err != nil {
			log.Error("speech", "err", err)
		}
	}()
	return spk
}

// watchJack reports the headphone jack to the speaker first (so private
// text may go into the headphones at once) and then to onChange.
func watchJack(ctx context.Context, cfg config.Speech, spk *speech.Espeak, onChange func(plugged bool), log *slog.Logger) {
	if cfg.HeadphoneJack == "" {
		return
	}
	j := &speech.Jack{Path: cfg.HeadphoneJack, Logger: log, OnChange: func(plugged bool) {
		log.Info("headphones", "plugged", plugged)
		if spk != nil {
			spk.SetHeadphones(plugged)
		}
		onChange(plugged)
	}}
	if err := j.Run(ctx); err != nil {
		log.Warn("speech: no headphone jack", "err", err)
	}
}
