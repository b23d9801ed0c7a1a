package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSendTranscriptAnswers starts devsim with a printer and a control
// socket, prints on the printer's pty, and checks that --send 'escpos
// transcript' answers with the transcript (it used to answer "ok" and
// print the transcript on the simulator's own output).
func TestSendTranscriptAnswers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dir := t.TempDir()
	sock := filepath.Join(dir, "devsim.sock")
	link := filepath.Join(dir, "printer")
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	var simOut bytes.Buffer
	go func() {
		done <- run(ctx, []string{"--no-stdin", "--control", sock, "escpos=" + link}, strings.NewReader(""), outW, &simOut)
		outW.Close()
	}()
	first, err := bufio.NewReader(outR).ReadString('\n')
	if err != nil {
		t.Fatalf("devsim printed no device line: %v (%v)", err, <-done)
	}
	go io.Copy(io.Discard, outR)
	if !strings.HasPrefix(first, "escpos "+link+" -> ") {
		t.Fatalf("device line %q", first)
	}

	tty, err := os.OpenFile(link, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	// Initialize, a line, and a status request: its answer says the
	// printer has taken everything before it.
	if _, err := tty.Write([]byte("\x1b@Hallo Drucker\n\x10\x04\x01")); err != nil {
		t.Fatal(err)
	}
	if err := tty.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	reply := make([]byte, 1)
	if _, err := io.ReadFull(tty, reply); err != nil || reply[0] != 0x12 {
		t.Fatalf("status reply %X, %v; want 12", reply, err)
	}

	var answer bytes.Buffer
	if err := sendLine(sock, "escpos transcript", &answer); err != nil {
		t.Fatal(err)
	}
	want := "escpos transcript, 2 entries:\ninit\nline left \"Hallo Drucker\"\n"
	if answer.String() != want {
		t.Errorf("--send 'escpos transcript' answered %q, want %q", answer.String(), want)
	}
	answer.Reset()
	if err := sendLine(sock, "escpos paper near_end", &answer); err != nil || answer.String() != "ok\n" {
		t.Errorf("--send 'escpos paper near_end' answered %q, %v; want ok", answer.String(), err)
	}
	answer.Reset()
	if err := sendLine(sock, "escpos paper sideways", &answer); err == nil || !strings.HasPrefix(answer.String(), "error: ") {
		t.Errorf("a bad command answered %q, %v; want an error", answer.String(), err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("devsim: %v", err)
	}
}
