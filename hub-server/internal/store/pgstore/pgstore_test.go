package pgstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/quartierhub/quartierhub/hub-server/internal/store"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgstore"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/pgtest"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/storetest"
	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T, url string) *pgstore.Store {
	t.Helper()
	s, err := pgstore.Open(context.Background(), url, pgstore.Opts{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, teststores.PostgresURL(t)) })
}

func BenchmarkIngest(b *testing.B) {
	storetest.BenchmarkIngest(b, func(b *testing.B) store.Store {
		s, err := pgstore.Open(context.Background(), pgtest.NewDatabase(b), pgstore.Opts{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}

func TestOpenDataClock(t *testing.T) {
	storetest.RunOpenDataClock(t, func(t *testing.T, now func() time.Time) store.Store {
		s, err := pgstore.Open(context.Background(), teststores.PostgresURL(t), pgstore.Opts{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}
