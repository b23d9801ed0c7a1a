// Package xvfb runs a virtual X display for the window tests and the
// kiosk benchmark: Xvfb picks a free display number itself (-displayfd)
// and keeps its framebuffer in a file (-fbdir), which this package reads
// for screenshots and for seeing when something was drawn, so no screenshot
// tool is needed. Clicks go through xdotool.
package xvfb

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Missing names the programs the window tests need that are not on PATH.
func Missing() []string {
	var out []string
	for _, p := range []string{"Xvfb", "xdotool"} {
		if _, err := exec.LookPath(p); err != nil {
			out = append(out, p)
		}
	}
	return out
}

// Display is a running Xvfb.
type Display struct {
	Num           int
	Width, Height int
	fb            string
	cmd           *exec.Cmd
	done          chan struct{}
	mem           []byte
}

// Start runs Xvfb with one screen of w × h × 24 bits, its framebuffer file
// in dir, and waits until it accepts clients.
func Start(ctx context.Context, dir string, w, h int) (*Display, error) {
	r, wr, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	logf, err := os.Create(filepath.Join(dir, "xvfb.log"))
	if err != nil {
		wr.Close()
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", fmt.Sprintf("%dx%dx24", w, h),
		"-fbdir", dir, "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{wr}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		wr.Close()
		return nil, fmt.Errorf("xvfb: start: %w", err)
	}
	wr.Close()
	d := &Display{Width: w, Height: h, fb: filepath.Join(dir, "Xvfb_screen0"), cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(d.done) }()
	num := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(r).ReadString('\n')
		num <- strings.TrimSpace(line)
	}()
	select {
	case s := <-num:
		if d.Num, err = strconv.Atoi(s); err != nil {
			d.Stop()
			log, _ := os.ReadFile(filepath.Join(dir, "xvfb.log"))
			return nil, fmt.Errorf("xvfb: no display number (%q): %s", s, log)
		}
	case <-ctx.Done():
		d.Stop()
		return nil, fmt.Errorf("xvfb: waiting for the display: %w", ctx.Err())
	}
	if d.mem, err = mapFramebuffer(d.fb); err != nil {
		d.Stop()
		return nil, err
	}
	return d, nil
}

// Open looks at the framebuffer of an Xvfb started elsewhere with
// -fbdir dir (screenshots only; Stop just unmaps it).
func Open(dir string) (*Display, error) {
	d := &Display{fb: filepath.Join(dir, "Xvfb_screen0"), done: make(chan struct{})}
	close(d.done)
	var err error
	d.mem, err = mapFramebuffer(d.fb)
	return d, err
}

func mapFramebuffer(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("xvfb: framebuffer: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("xvfb: mmap framebuffer: %w", err)
	}
	return mem, nil
}

// Name is the DISPLAY value, e.g. ":3".
func (d *Display) Name() string { return ":" + strconv.Itoa(d.Num) }

// Env is os.Environ with DISPLAY set to this display.
func (d *Display) Env() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "DISPLAY=") {
			env = append(env, e)
		}
	}
	return append(env, "DISPLAY="+d.Name())
}

// Stop ends Xvfb and waits for it.
func (d *Display) Stop() {
	if d.mem != nil {
		_ = syscall.Munmap(d.mem)
		d.mem = nil
	}
	select {
	case <-d.done:
		return
	default:
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		_ = d.cmd.Process.Kill()
		<-d.done
	}
}

// X runs an X client (xdotool, xwininfo …) on this display and returns
// its standard output.
func (d *Display) X(ctx context.Context, name string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = d.Env()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("xvfb: %s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Click moves the pointer to (x, y) in screen pixels and clicks button 1.
// The X server takes the motion and the button in that order, so no
// --sync is needed (it also hangs when the pointer is already there).
func (d *Display) Click(ctx context.Context, x, y int) error {
	_, err := d.X(ctx, "xdotool", "mousemove", strconv.Itoa(x), strconv.Itoa(y), "click", "1")
	return err
}

// xwd header fields (XWDFileHeader), stored big-endian.
const (
	xwdHeaderSize = iota
	_
	_
	_
	xwdWidth
	xwdHeight
	_
	xwdByteOrder
	_
	_
	_
	xwdBitsPerPixel
	xwdBytesPerLine
	_
	xwdRedMask
	xwdGreenMask
	xwdBlueMask
	_
	_
	xwdNColors
	xwdFields = 25
)

// frame describes the pixels in the framebuffer file (XWD, as Xvfb writes it).
type frame struct {
	mem                 []byte
	off, stride, w, h   int
	little              bool
	rShift, gShift, bSh uint
}

func (d *Display) frame() (frame, error) {
	m := d.mem
	if len(m) < xwdFields*4 {
		return frame{}, errors.New("xvfb: no framebuffer")
	}
	f := func(i int) uint32 { return binary.BigEndian.Uint32(m[i*4:]) }
	if f(xwdBitsPerPixel) != 32 {
		return frame{}, fmt.Errorf("xvfb: %d bits per pixel, want 32", f(xwdBitsPerPixel))
	}
	fr := frame{mem: m, off: int(f(xwdHeaderSize)) + int(f(xwdNColors))*12, stride: int(f(xwdBytesPerLine)),
		w: int(f(xwdWidth)), h: int(f(xwdHeight)), little: f(xwdByteOrder) == 0}
	shift := func(mask uint32) uint {
		var s uint
		for mask != 0 && mask&1 == 0 {
			mask >>= 1
			s++
		}
		return s
	}
	fr.rShift, fr.gShift, fr.bSh = shift(f(xwdRedMask)), shift(f(xwdGreenMask)), shift(f(xwdBlueMask))
	if fr.off+fr.stride*fr.h > len(m) {
		return frame{}, errors.New("xvfb: short framebuffer")
	}
	return fr, nil
}

func (fr frame) at(x, y int) color.RGBA {
	p := fr.mem[fr.off+y*fr.stride+x*4:]
	var v uint32
	if fr.little {
		v = binary.LittleEndian.Uint32(p)
	} else {
		v = binary.BigEndian.Uint32(p)
	}
	return color.RGBA{uint8(v >> fr.rShift), uint8(v >> fr.gShift), uint8(v >> fr.bSh), 0xff}
}

// Settle waits until the screen has not changed for quiet (sampled every
// 25 ms), at most for limit: a window that has just been told to show
// something paints it a little later. It reports whether it settled.
func (d *Display) Settle(quiet, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	last, since := d.sum(), time.Now()
	for time.Now().Before(deadline) {
		time.Sleep(25 * time.Millisecond)
		if s := d.sum(); s != last {
			last, since = s, time.Now()
		} else if time.Since(since) >= quiet {
			return true
		}
	}
	return false
}

// Fingerprint is a cheap hash of the screen now (every 3rd pixel each
// way): it changes when something is drawn.
func (d *Display) Fingerprint() uint64 { return d.sum() }

func (d *Display) sum() uint64 {
	fr, err := d.frame()
	if err != nil {
		return 0
	}
	h := uint64(14695981039346656037)
	for y := 0; y < fr.h; y += 3 {
		row := fr.mem[fr.off+y*fr.stride:]
		for x := 0; x < fr.w; x += 3 {
			h = (h ^ uint64(binary.LittleEndian.Uint32(row[x*4:]))) * 1099511628211
		}
	}
	return h
}

// Screenshot writes the screen as it is now to path as a PNG.
func (d *Display) Screenshot(path string) error {
	fr, err := d.frame()
	if err != nil {
		return err
	}
	img := image.NewRGBA(image.Rect(0, 0, fr.w, fr.h))
	for y := range fr.h {
		for x := range fr.w {
			img.SetRGBA(x, y, fr.at(x, y))
		}
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(out, img); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Count returns how many of a grid of sample points (every step-th pixel
// in both directions) have exactly each of the given colours: a cheap
// look at what is on the screen now.
func (d *Display) Count(step int, colours ...color.RGBA) ([]int, error) {
	fr, err := d.frame()
	if err != nil {
		return nil, err
	}
	n := make([]int, len(colours))
	for y := 0; y < fr.h; y += step {
		for x := 0; x < fr.w; x += step {
			c := fr.at(x, y)
			for i, want := range colours {
				if c == want {
					n[i]++
				}
			}
		}
	}
	return n, nil
}
