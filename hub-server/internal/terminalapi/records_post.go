package terminalapi

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
)

// records stores an authenticated batch (gzip or plain JSON) all or
// nothing and answers how many were new and how many duplicates.
func (h *Handler) records(w http.ResponseWriter, r *http.Request) {
	t, _ := TerminalFrom(r.Context())
	data := bodyFrom(r.Context())
	if r.Header.Get("Content-Encoding") == "gzip" {
		buf := bufPool.Get().(*bytes.Buffer)
		defer bufPool.Put(buf) // after IngestBatch: the decoded batch points into buf
		// Charged what the gzip trailer announces; a stream that
		// inflates beyond it is charged the limit before it may go on.
		c, _ := r.Context().Value(chargeKey{}).(*charge)
		want := min(gzipSize(data), api.MaxBatchBytesUncompressed)
		if c != nil && !c.add(want) {
			h.overloaded(w)
			return
		}
		err := gunzip(buf, data, want)
		if errors.Is(err, errTooLarge) && want < api.MaxBatchBytesUncompressed {
			if c != nil && !c.add(api.MaxBatchBytesUncompressed-want) {
				h.overloaded(w)
				return
			}
			err = gunzip(buf, data, api.MaxBatchBytesUncompressed)
		}
		if err != nil {
			if errors.Is(err, errTooLarge) {
				h.refuse(w, r, http.StatusRequestEntityTooLarge, api.CodeTooLarge,
					fmt.Sprintf("batch larger than %d bytes uncompressed", api.MaxBatchBytesUncompressed), t.ID)
				return
			}
			h.refuse(w, r, http.StatusBadRequest, api.CodeBadRequest, "body is not valid gzip: "+err.Error(), t.ID)
			return
		}
		data = buf.Bytes()
	}
	b, err := decodeBatch(data)
	if err != nil {
		h.refuse(w, r, jsonErrorStatus(err), jsonErrorCode(err), "malformed batch JSON: "+err.Error(), t.ID)
		return
	}
	if len(b.Records) > api.MaxBatchRecords {
		h.refuse(w, r, http.StatusRequestEntityTooLarge, api.CodeTooLarge,
			fmt.Sprintf("batch has %d records, at most %d allowed", len(b.Records), api.MaxBatchRecords), t.ID)
		return
	}
	var advanced []string // workshops whose events the batch carries
	for i := range b.Records {
		err := b.Records[i].Validate()
		if err == nil && b.Records[i].Type == api.RecordWorkshopEvent {
			var ws string
			if ws, err = workshopRecord(&b.Records[i], t.ID); err == nil && !slices.Contains(advanced, ws) {
				advanced = append(advanced, ws)
			}
		}
		if err != nil {
			h.refuse(w, r, http.StatusBadRequest, api.CodeInvalidRecord, fmt.Sprintf("record %d: %v", i, err), t.ID)
			return
		}
	}
	if len(b.Records) == 0 {
		writeJSON(w, http.StatusOK, api.BatchAck{})
		return
	}
	start := h.o.Now()
	ack, err := h.st.IngestBatch(r.Context(), t.ID, b.Records, start)
	switch {
	case errors.Is(err, store.ErrRevoked), errors.Is(err, store.ErrNotFound):
		h.refuse(w, r, http.StatusUnauthorized, api.CodeRevoked, "terminal credentials revoked; enrol again", t.ID)
		return
	case err != nil:
		h.internal(w, "ingest", err)
		return
	}
	if len(advanced) > 0 && h.o.Workshops.Service != nil {
		h.o.Workshops.Service.Advanced(advanced...)
	}
	h.o.Logger.Debug("batch stored", "terminal", t.ID, "stored", ack.Stored, "duplicates", ack.Duplicates)
	writeJSON(w, http.StatusOK, ack)
}

// workshopRecord checks a workshop event record: class resident, its
// payload an event the terminal authored (see terminalEvent). It returns
// the event's workshop. A batch with a bad one is refused whole, like any
// invalid record: the terminal sets it aside rather than sending it again.
func workshopRecord(rec *api.Record, terminal string) (string, error) {
	if rec.Class != api.ClassResident {
		return "", fmt.Errorf("a %s record is of class %s", api.RecordWorkshopEvent, api.ClassResident)
	}
	ev, err := terminalEvent(rec.Payload, terminal)
	if err != nil {
		return "", fmt.Errorf("workshop event: %w", err)
	}
	return ev.Workshop, nil
}
