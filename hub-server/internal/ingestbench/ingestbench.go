// Package ingestbench measures how fast the hub takes in a week of sensor
// records from one terminal: a direct bulk SQLite insert as the yardstick,
// the store's IngestBatch, and the whole HTTP path (signing, gzip, JSON,
// validation, store) over loopback. `make bench` runs it through
// TestIngestBench (QH_BENCH=1) and prints `NAME VALUE UNIT` lines.
package ingestbench

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/quartierhub/quartierhub/hub-server/api"
	"github.com/quartierhub/quartierhub/hub-server/internal/server"
	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/sqlitestore"
	"github.com/quartierhub/quartierhub/hub-server/internal/terminalapi"
)

// Opts configures the measurements. Zero values are the defaults.
type Opts struct {
	Records     int // default 1,000,000
	BatchSize   int // default 5,000
	PayloadSize int // approximate payload bytes, default 200
}

func (o *Opts) defaults() {
	if o.Records <= 0 {
		o.Records = 1_000_000
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.PayloadSize <= 0 {
		o.PayloadSize = 200
	}
}

// Records returns n valid sensor records with increasing ULIDs and payloads
// of about payloadSize bytes.
func Records(n, payloadSize int) []api.Record {
	rng := rand.New(rand.NewPCG(1, 2))
	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	entropy := ulid.Monotonic(rand.NewChaCha8([32]byte{3, 4}), 0)
	recs := make([]api.Record, n)
	for i := range recs {
		at := t0.Add(time.Duration(i) * 600 * time.Millisecond)
		p := fmt.Sprintf(`{"sensor":"sds011","pm25":%.1f,"pm10":%.1f,"pad":"`, rng.Float64()*50, rng.Float64()*80)
		pad := make([]byte, max(0, payloadSize-len(p)-2))
		for j := range pad {
			pad[j] = 'a' + byte(rng.IntN(26))
		}
		recs[i] = api.Record{
			ID:        ulid.MustNew(ulid.Timestamp(at), entropy).String(),
			Type:      "sensor.sds011",
			Class:     api.ClassSensor,
			CreatedAt: at,
			Payload:   json.RawMessage(p + string(pad) + `"}`),
		}
	}
	return recs
}

// Result is one measurement.
type Result struct {
	Rows    int
	Elapsed time.Duration
}

// PerSecond is the measured rate.
func (r Result) PerSecond() float64 { return float64(r.Rows) / r.Elapsed.Seconds() }

// BulkInsert is the yardstick: a direct bulk insert into the hub's schema
// in dir/bulk.db — one prepared single-row INSERT ... ON CONFLICT DO NOTHING
// per record (the primary-key check), one transaction per batch, with the
// store's pragmas.
func BulkInsert(ctx context.Context, dir string, o Opts) (Result, error) {
	o.defaults()
	recs := Records(o.Records, o.PayloadSize)
	path := filepath.Join(dir, "bulk.db")
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Opts{}) // creates the schema
	if err != nil {
		return Result{}, err
	}
	st.Close()
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_txlock=immediate")
	if err != nil {
		return Result{}, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	start := time.Now()
	for len(recs) > 0 {
		batch := recs[:min(o.BatchSize, len(recs))]
		recs = recs[len(batch):]
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return Result{}, err
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO records (terminal_num, record_id, type, class, created_at, received_at, payload) VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING`)
		if err != nil {
			tx.Rollback()
			return Result{}, err
		}
		now := time.Now().UnixNano()
		for i := range batch {
			r := &batch[i]
			if _, err := stmt.ExecContext(ctx, 1, r.ID, r.Type, r.Class, r.CreatedAt.UnixNano(), now, string(r.Payload)); err != nil {
				tx.Rollback()
				return Result{}, err
			}
		}
		stmt.Close()
		if err := tx.Commit(); err != nil {
			return Result{}, err
		}
	}
	return Result{Rows: o.Records, Elapsed: time.Since(start)}, nil
}

// StoreIngest measures store.IngestBatch on a SQLite file in dir: the
// hub's storage path without HTTP, JSON or signatures.
func StoreIngest(ctx context.Context, dir string, o Opts) (Result, error) {
	o.defaults()
	recs := Records(o.Records, o.PayloadSize)
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "store.db"), sqlitestore.Opts{})
	if err != nil {
		return Result{}, err
	}
	defer st.Close()
	id, _, err := enrol(ctx, st)
	if err != nil {
		return Result{}, err
	}
	start := time.Now()
	for len(recs) > 0 {
		batch := recs[:min(o.BatchSize, len(recs))]
		recs = recs[len(batch):]
		ack, err := st.IngestBatch(ctx, id, batch, time.Now())
		if err != nil {
			return Result{}, err
		}
		if ack.Stored != len(batch) {
			return Result{}, fmt.Errorf("ingestbench: stored %d of %d", ack.Stored, len(batch))
		}
	}
	return Result{Rows: o.Records, Elapsed: time.Since(start)}, nil
}

// enrol creates a terminal in st and returns its ID and private key.
func enrol(ctx context.Context, st store.Store) (string, ed25519.PrivateKey, error) {
	pub, priv, err := ed25519.GenerateKey(crand.Reader)
	if err != nil {
		return "", nil, err
	}
	tok := store.EnrolToken{Hash: sha256.Sum256([]byte("bench-token")), TerminalName: "bench", Quarter: "bench",
		CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}
	if err := st.CreateEnrolToken(ctx, tok); err != nil {
		return "", nil, err
	}
	t, err := st.Enroll(ctx, store.Enrolment{TokenHash: tok.Hash, TerminalID: ulid.Make().String(), PublicKey: pub, Now: time.Now()})
	return t.ID, priv, err
}

// HTTPIngest measures the whole terminal upload path over loopback: a hub
// (server, terminal API, SQLite store in dir) and one terminal sending
// gzip batches one after another, each signed, as the sync client does.
// The batches are encoded and compressed before the clock starts: on a
// real fleet that is the terminal's work, not the hub's.
func HTTPIngest(ctx context.Context, dir string, o Opts) (Result, error) {
	o.defaults()
	st, err := sqlitestore.Open(ctx, filepath.Join(dir, "http.db"), sqlitestore.Opts{})
	if err != nil {
		return Result{}, err
	}
	defer st.Close()
	id, priv, err := enrol(ctx, st)
	if err != nil {
		return Result{}, err
	}
	recs := Records(o.Records, o.PayloadSize)
	var bodies [][]byte
	for len(recs) > 0 {
		batch := recs[:min(o.BatchSize, len(recs))]
		recs = recs[len(batch):]
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if err := json.NewEncoder(zw).Encode(api.Batch{Records: batch}); err != nil {
			return Result{}, err
		}
		if err := zw.Close(); err != nil {
			return Result{}, err
		}
		bodies = append(bodies, buf.Bytes())
	}
	recs = nil

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return Result{}, err
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	srv := server.New(server.Opts{Listener: ln, Handler: terminalapi.New(st, terminalapi.Opts{Logger: quiet}), Logger: quiet})
	done := make(chan error, 1)
	go func() { done <- srv.Run(sctx) }()
	url := "http://" + ln.Addr().String() + api.PathRecords
	client := &http.Client{}

	start := time.Now()
	stored := 0
	for _, body := range bodies {
		req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		if err != nil {
			return Result{}, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		api.SignRequest(req, priv, id, time.Now(), body)
		res, err := client.Do(req)
		if err != nil {
			return Result{}, err
		}
		var ack api.BatchAck
		err = json.NewDecoder(res.Body).Decode(&ack)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || err != nil {
			return Result{}, fmt.Errorf("ingestbench: upload: status %d: %v", res.StatusCode, err)
		}
		stored += ack.Stored
	}
	elapsed := time.Since(start)
	stop()
	if err := <-done; err != nil {
		return Result{}, err
	}
	if stored != o.Records {
		return Result{}, fmt.Errorf("ingestbench: stored %d of %d", stored, o.Records)
	}
	return Result{Rows: o.Records, Elapsed: elapsed}, nil
}

// Run performs all three measurements in fresh files under dir and prints
// one `NAME VALUE UNIT` line each to w, plus the HTTP/bulk ratio.
func Run(ctx context.Context, dir string, o Opts, w io.Writer) error {
	bulk, err := BulkInsert(ctx, dir, o)
	if err != nil {
		return fmt.Errorf("ingestbench: bulk insert: %w", err)
	}
	fmt.Fprintf(w, "sqlite_bulk_insert_per_s %.0f rows/s\n", bulk.PerSecond())
	st, err := StoreIngest(ctx, dir, o)
	if err != nil {
		return fmt.Errorf("ingestbench: store ingest: %w", err)
	}
	fmt.Fprintf(w, "hub_store_ingest_per_s %.0f rows/s\n", st.PerSecond())
	h, err := HTTPIngest(ctx, dir, o)
	if err != nil {
		return fmt.Errorf("ingestbench: http ingest: %w", err)
	}
	fmt.Fprintf(w, "hub_http_ingest_per_s %.0f rows/s\n", h.PerSecond())
	fmt.Fprintf(w, "hub_http_ingest_vs_bulk %.2f ratio\n", h.PerSecond()/bulk.PerSecond())
	return nil
}
