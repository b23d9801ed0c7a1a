// Package fault holds the terminal-to-hub fault tests: the agent killed
// with SIGKILL while records are submitted and synced, the hub killed in
// the middle of a batch, a week-long (simulated) hub outage, and
// connections cut mid-request. Each checks that every record whose submit
// returned is at the hub exactly once and that nothing else vanished
// without a trace.
//
// They run the real binaries (built once per run in TestMain) and real
// stores. Knobs, all optional:
//
//	FAULT_KILLS=N          agent kills in TestKillAgent (default 5; `make soak` 100)
//	FAULT_HUB_RESTARTS=N   hub kills in TestHubRestartMidBatch (default 3; `make soak` 10)
//	FAULT_BACKLOG=N        backlog records for the hub restarts (default 30000, or
//	                       four 2000-record agent batches per hub kill plus two if more)
//	FAULT_SEED=S           repeat a run's random choices (each test logs its seed)
package fault
