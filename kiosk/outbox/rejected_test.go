package outbox

import (
	"context"
	"path/filepath"
	"testing"
)

func TestSetAsideKeepsRefusedRecordsOutOfTheQueue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "o.db")
	o := open(t, path, Opts{})
	ctx := context.Background()
	bad, err := o.Submit(ctx, "problem_report", ClassResident, []byte(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	good, err := o.Submit(ctx, "problem_report", ClassResident, []byte(`{"x":2}`))
	if err != nil {
		t.Fatal(err)
	}
	if err := o.SetAside(ctx, []string{bad.ID}, "record 0: too old"); err != nil {
		t.Fatal(err)
	}
	recs, err := o.Peek(ctx, 10, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].ID != good.ID {
		t.Fatalf("queue after set aside: %v", recs)
	}
	st, _ := o.Stats()
	if st.Resident.Count != 1 {
		t.Fatalf("resident count %d, want 1", st.Resident.Count)
	}
	rej, total, err := o.Rejected(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if total != 1 || rej[0].ID != bad.ID || rej[0].Reason != "record 0: too old" || string(rej[0].Payload) != `{"x":1}` || rej[0].RejectedAt.IsZero() {
		t.Fatalf("rejected: %d %+v", total, rej)
	}
}
