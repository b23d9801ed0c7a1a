// Package outbox is the terminal's durable queue: everything a terminal
// records (resident submissions, device events, sensor aggregates) is
// committed here first, and the sync client later sends it to the hub and
// acknowledges it. It is built on go.etcd.io/bbolt.
//
// # Guarantees
//
// Submit returns nil only after the record is fsync'd into the bbolt file, so
// a record whose Submit returned nil survives kill -9 and power loss. A
// Submit whose context is cancelled before its record was taken into a
// commit returns the context error and stores nothing; once taken, Submit
// waits for that commit and reports its outcome.
//
// Record IDs are ULIDs generated under one lock in submit order; they never
// decrease, not even when the wall clock steps back or the terminal boots
// with a clock behind the newest stored record (the generator then continues
// from the newest stored ID). Keys are the 16-byte binary ULIDs in one bucket
// per class, so a cursor walk is first-in-first-out within a class.
//
// # Group commit
//
// One committer goroutine writes every submission waiting in the queue in a
// single bbolt read-write transaction (one fsync) as soon as the previous
// commit ends; there is no artificial delay, so a lone submitter pays one
// commit and 64 concurrent submitters share one. After each commit the
// committer yields the processor once, so the submitters it just released
// can queue their next records in time for the next transaction. db.Batch is not used: its
// MaxBatchDelay caps throughput well below what this achieves.
//
// # Order
//
// Peek returns records in priority order — ClassResident, then ClassEvent,
// then ClassSensor — and oldest first within a class. It does not skip to a
// lower class while a higher one still has records.
//
// # Storage cap and loss policy
//
// Opts.MaxBytes (default 256 MiB) bounds the accounted size of all stored
// records; a record is accounted as its encoded value (payload, type and
// 10 bytes of header) plus its 16-byte key plus RecordOverhead (64 bytes,
// roughly bbolt's per-element and page-fill cost). When a new record would
// push the total above the cap, room is made in this order, inside the same
// transaction that stores the record:
//
//  1. Thinning. Sensor readings older than Opts.ThinMinAge (default 1 h;
//     age taken from the ID's timestamp) that have not been thinned before
//     are walked oldest first, and every second one is deleted: the first is
//     kept, the next deleted, and so on, until enough room is freed. A
//     persisted mark remembers how far thinning got, so no reading is thinned
//     twice: thinning at most halves the time resolution of any period, and
//     the newest ThinMinAge of readings keeps full resolution.
//  2. Sensor eviction. When thinning cannot free enough (everything old
//     enough has been thinned once), sensor readings are deleted oldest
//     first — already thinned ones go before newer ones.
//  3. Device-event eviction. Only when no sensor reading is left, and only to
//     admit a device event or a resident submission, device events are
//     deleted oldest first. A sensor reading never displaces a device event.
//  4. Resident submissions are never deleted by the outbox, only by Ack.
//
// If the record still cannot fit — the cap is filled by records it may not
// displace — nothing is deleted and Submit fails with ErrFull. For a resident
// submission that failure, and any storage failure (disk full, I/O error),
// is a *userr.Error whose message can be shown to the resident (MsgCannotStore);
// the failed transaction is rolled back, so nothing already stored is harmed.
//
// Every thinned and evicted record is counted per class in persisted
// counters (Stats), in the same transaction that deleted it: nothing
// vanishes without a trace.
//
// # Counters and recovery
//
// Per-class count and bytes, the thinning mark and the loss counters live in
// a meta bucket and are updated in the same transactions as the records, so
// Stats is O(1) in the number of records. Open quarantines a file that bbolt
// cannot open as a database (both meta pages invalid, wrong version) by
// renaming it to PATH.corrupt-TIMESTAMP and starts empty, so the terminal
// keeps serving; with Opts.CheckOnOpen it also runs bbolt's consistency
// check and, if that fails, salvages every readable record into a fresh file.
//
// # bbolt options
//
// The freelist is a hashmap (fast allocation in a fragmented file, which a
// queue of deletes produces). NoSync is never used. NoFreelistSync is off by
// default (Opts.NoFreelistSync): on a 2-core ext4 machine it measured no
// faster, often slower, for 200-byte records under group commit
// (outboxbench reports both), while it makes every Open scan the whole file
// to rebuild the freelist.
package outbox
