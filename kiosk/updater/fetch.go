package updater

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
	"golang.org/x/time/rate"
)

// metadataFetcher is go-tuf's Fetcher over the updater's HTTP client and
// context; go-tuf passes the role's maximum length, which bounds the read.
type metadataFetcher struct {
	ctx    context.Context
	client *http.Client
}

func (f metadataFetcher) DownloadFile(url string, maxLength int64, _ time.Duration) ([]byte, error) {
	req, err := http.NewRequestWithContext(f.ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		// go-tuf tells "no newer root" (404) from other failures by this type.
		return nil, &metadata.ErrDownloadHTTP{StatusCode: resp.StatusCode, URL: url}
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxLength+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > maxLength {
		return nil, fmt.Errorf("updater: %s exceeds %d bytes", url, maxLength)
	}
	return data, nil
}

// download fetches url into partial, resuming from partial's current
// length with an HTTP Range request, reading no more than length bytes in
// all, at most limiter's rate. The caller verifies the result.
func download(ctx context.Context, client *http.Client, limiter *rate.Limiter, url, partial string, length int64) error {
	f, err := os.OpenFile(partial, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("updater: download: %w", err)
	}
	defer f.Close()
	have, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return fmt.Errorf("updater: download: %w", err)
	}
	if have > length {
		// Longer than the signed length: cannot be a prefix; start over.
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("updater: download: %w", err)
		}
		have, _ = f.Seek(0, io.SeekStart)
	}
	if have == length {
		return nil
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("updater: download: %w", err)
	}
	if have > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(have, 10)+"-")
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("updater: download: %w", err)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusPartialContent && have > 0:
	case resp.StatusCode == http.StatusOK:
		// The server ignored the range: take the whole file afresh.
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("updater: download: %w", err)
		}
		if have, err = f.Seek(0, io.SeekStart); err != nil {
			return fmt.Errorf("updater: download: %w", err)
		}
	default:
		return fmt.Errorf("updater: download %s: status %d", url, resp.StatusCode)
	}
	body := &limitedReader{ctx: ctx, r: io.LimitReader(resp.Body, length-have), limiter: limiter}
	if _, err := io.Copy(f, body); err != nil {
		return fmt.Errorf("updater: download: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("updater: download: %w", err)
	}
	return nil
}

// limitedReader waits on a token bucket for every chunk it passes on, so
// that a fleet downloading at once does not saturate a quarter's uplink.
type limitedReader struct {
	ctx     context.Context
	r       io.Reader
	limiter *rate.Limiter
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.limiter == nil {
		return l.r.Read(p)
	}
	if b := l.limiter.Burst(); len(p) > b {
		p = p[:b]
	}
	n, err := l.r.Read(p)
	if n > 0 {
		if werr := l.limiter.WaitN(l.ctx, n); werr != nil && !errors.Is(err, io.EOF) {
			return n, werr
		}
	}
	return n, err
}
