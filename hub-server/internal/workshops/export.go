package workshops

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/quartierhub/quartierhub/internal/workshop"
)

// Export formats.
const (
	FormatJSON = "json" // the results and the workshop as it stands (workshop.WriteJSON)
	FormatCSV  = "csv"  // the results, one row per item and round (workshop.WriteCSV)
	FormatLog  = "log"  // the event log, gzip'd JSON Lines in hub order (workshop.WriteLogArchive)
)

// Export writes the workshop in format to w and returns the SHA-256
// (hex) of what it wrote: for the log archive, the digest to publish
// with it.
func (s *Service) Export(ctx context.Context, id, format string, w io.Writer) (string, error) {
	switch format {
	case FormatJSON, FormatCSV, FormatLog:
	default:
		return "", fmt.Errorf("workshops: export format %q: json, csv or log", format)
	}
	e := s.entry(id)
	sn, err := s.current(ctx, e)
	if err != nil {
		s.dropIfUnloaded(id)
		return "", err
	}
	h := sha256.New()
	out := io.MultiWriter(w, h)
	switch format {
	case FormatJSON:
		err = workshop.WriteJSON(out, sn.state)
	case FormatCSV:
		err = workshop.WriteCSV(out, sn.state)
	case FormatLog:
		_, err = workshop.WriteLogArchive(out, sn.events)
	}
	if err != nil {
		return "", fmt.Errorf("workshops: export %s: %w", id, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
