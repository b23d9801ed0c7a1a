package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/quartierhub/quartierhub/drivers/escpos"
)

// probeESCPOS asks a receipt printer for its status (--status: one object,
// or --count objects every --interval) and/or prints --print TEXT and a
// --qr code in --codepage (ESC t number --table), then cuts. A refused job
// (paper out, cover open, error) is an error; so is a printer that does not
// answer within --timeout.
func probeESCPOS(ctx context.Context, a probeArgs, out *json.Encoder) error {
	type statusLine struct {
		Device    string    `json:"device"`
		Online    bool      `json:"online"`
		Paper     string    `json:"paper"`
		CoverOpen bool      `json:"cover_open"`
		Error     bool      `json:"error"`
		Cause     string    `json:"error_cause,omitempty"`
		Time      time.Time `json:"time"`
	}
	type printLine struct {
		Device   string    `json:"device"`
		Printed  bool      `json:"printed"`
		Bytes    int       `json:"bytes"`
		Replaced int       `json:"replaced"`
		Unmapped string    `json:"unmapped,omitempty"`
		CodePage string    `json:"codepage"`
		Table    int       `json:"table"`
		Paper    string    `json:"paper"`
		Time     time.Time `json:"time"`
	}
	toStatus := func(s escpos.Status) statusLine {
		l := statusLine{"escpos", s.Online, s.Paper.String(), s.CoverOpen, s.Error, "", s.Time}
		if s.Error {
			l.Cause = s.Cause.String()
		}
		return l
	}

	printing := a.print != "" || a.qr != ""
	if !a.status && !printing {
		return errors.New("escpos: give --status, or --print TEXT and/or --qr DATA")
	}
	cp, err := escpos.ParseCodePage(a.codepage)
	if err != nil {
		return err
	}
	if a.table > 255 {
		return fmt.Errorf("escpos: --table %d: must be 0–255", a.table)
	}
	if a.table >= 0 {
		cp = cp.WithTable(byte(a.table))
	}
	var receipt escpos.Receipt
	if a.print != "" {
		receipt.Add(escpos.Text{Text: strings.ReplaceAll(a.print, `\n`, "\n")})
	}
	if a.qr != "" {
		receipt.Add(escpos.QR{Data: a.qr, Align: escpos.AlignCentre})
	}
	receipt.Add(escpos.Feed{Lines: 3}, escpos.Cut{Partial: true}) // clear the cutter first
	job, err := escpos.Render(receipt, cp)
	if err != nil {
		return err // before touching the port
	}

	interval := a.interval
	if interval <= 0 {
		interval = 2 * time.Second
	}
	events := make(chan escpos.Event, 16)
	printer := escpos.New(escpos.Opts{
		CodePage:       cp,
		StatusInterval: interval,
		OnStatus:       func(e escpos.Event) { events <- e },
	})
	return onPort(ctx, a, escpos.DefaultBaud, func(ctx context.Context, rw io.ReadWriter) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		errc := make(chan error, 1)
		go func() { errc <- printer.Run(ctx, rw) }()
		stop := func(err error) error {
			cancel()
			<-errc
			return err
		}
		// The session's first poll tells whether a printer is there.
		var timeout <-chan time.Time
		if a.timeout > 0 {
			t := time.NewTimer(a.timeout)
			defer t.Stop()
			timeout = t.C
		}
		var first escpos.Event
		select {
		case err := <-errc:
			return err
		case <-timeout:
			return stop(timeoutError(a))
		case first = <-events:
		}
		if first.Kind == escpos.EventUnreachable {
			return stop(timeoutError(a))
		}
		if a.status {
			if err := out.Encode(toStatus(first.Status)); err != nil {
				return stop(err)
			}
			for n := 1; n < a.count; n++ {
				select {
				case <-ctx.Done():
					return stop(nil)
				case <-time.After(interval):
				}
				st, err := printer.Status(ctx)
				if errors.Is(err, escpos.ErrNoReply) {
					return stop(timeoutError(a))
				}
				if err != nil {
					return stop(err)
				}
				if err := out.Encode(toStatus(st)); err != nil {
					return stop(err)
				}
			}
		}
		if printing {
			res, err := printer.PrintRendered(ctx, job)
			if errors.Is(err, escpos.ErrNoReply) {
				return stop(timeoutError(a))
			}
			if err != nil {
				return stop(err)
			}
			l := printLine{"escpos", true, res.Bytes, res.Replaced, string(res.Unmapped), cp.Name(), int(cp.Table()), res.Status.Paper.String(), res.Time}
			if err := out.Encode(l); err != nil {
				return stop(err)
			}
		}
		return stop(errDone)
	})
}
