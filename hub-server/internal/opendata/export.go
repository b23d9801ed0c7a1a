package opendata

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/quartierhub/quartierhub/internal/atomicfile"
)

// Written is one file Export wrote.
type Written struct {
	// Path is relative to the export directory, with slashes.
	Path  string
	Bytes int64
}

// Export writes the open data files into dir as the hub serves them:
// air/YYYY-MM-DD.csv.gz for each finished day from from to to (UTC dates,
// both included; days before the first published observation are
// skipped), then stations.geojson and catalog.jsonld, each replaced
// atomically. The catalogue's URLs start with Catalog.PublicURL, which
// must be set. Days not finished yet are an error.
func (f *Files) Export(ctx context.Context, dir string, from, to time.Time) ([]Written, error) {
	base := f.o.Catalog.PublicURL
	if base == "" {
		return nil, errors.New("opendata: export needs the hub's public URL (the catalogue's links start with it)")
	}
	from, to = dayOf(from), dayOf(to)
	if to.Before(from) {
		return nil, fmt.Errorf("opendata: export from %s to %s: the end is before the start", from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	if last := f.LastFinishedDay(f.o.Now()); to.After(last) {
		return nil, fmt.Errorf("opendata: export to %s: %w (the last finished day is %s)", to.Format(time.DateOnly), ErrNotFinished, last.Format(time.DateOnly))
	}
	cov, _, err := f.coverage(ctx)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "air"), 0o755); err != nil {
		return nil, fmt.Errorf("opendata: export: %w", err)
	}
	var out []Written
	files := &dirCache{dir: dir, perm: 0o644}
	if !cov.First.IsZero() {
		if d := dayOf(cov.First); d.After(from) {
			from = d
		}
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			e, err := files.put(d, f.o.Now(), func(w io.Writer) error { return f.WriteDay(ctx, w, d) })
			if err != nil {
				return out, err
			}
			e.Close()
			out = append(out, Written{Path: DayFileName(d), Bytes: e.size})
		}
	}
	for _, doc := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"stations.geojson", func(b *bytes.Buffer) error { return f.WriteStations(ctx, b, base) }},
		{"catalog.jsonld", func(b *bytes.Buffer) error { return f.WriteCatalog(ctx, b, base, files.size) }},
	} {
		var b bytes.Buffer
		if err := doc.write(&b); err != nil {
			return out, err
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, doc.name), b.Bytes(), 0o644); err != nil {
			return out, fmt.Errorf("opendata: export: %w", err)
		}
		out = append(out, Written{Path: doc.name, Bytes: int64(b.Len())})
	}
	return out, nil
}
