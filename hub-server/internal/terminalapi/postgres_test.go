package terminalapi_test

import (
	"testing"

	"github.com/quartierhub/quartierhub/hub-server/internal/store/teststores"
)

func TestMain(m *testing.M) { teststores.Main(m) }

// TestPostgres runs the terminal API tests that matter most for storage
// again on PostgreSQL: newEnv (and newWorkshopEnv) opens a PostgreSQL
// store for any test under TestPostgres/ (the others run on SQLite).
func TestPostgres(t *testing.T) {
	for _, tc := range []struct {
		name string
		fn   func(*testing.T)
	}{
		{"EnrolAndPing", TestEnrolAndPing},
		{"EnrolRefusals", TestEnrolRefusals},
		{"AuthRefusals", TestAuthRefusals},
		{"RevokedAfterUse", TestRevokedAfterUse},
		{"IngestIdempotent", TestIngestIdempotent},
		{"IngestGzipAndPlain", TestIngestGzipAndPlain},
		{"IngestAllOrNothing", TestIngestAllOrNothing},
		{"IngestTooLarge", TestIngestTooLarge},
		{"HeartbeatStoresStateAndOnline", TestHeartbeatStoresStateAndOnline},
		{"HeartbeatCardKey", TestHeartbeatCardKey},
		{"ConfigLayeredWithETag", TestConfigLayeredWithETag},
		{"CommandsOnlyForTheirTerminal", TestCommandsOnlyForTheirTerminal},
		{"RevokedCallHook", TestRevokedCallHook},
		{"ScreenshotStoredForItsCommand", TestScreenshotStoredForItsCommand},
		{"WorkshopListAndEvents", TestWorkshopListAndEvents},
		{"WorkshopRecordsChecked", TestWorkshopRecordsChecked},
		{"WorkshopLive", TestWorkshopLive},
	} {
		t.Run(tc.name, tc.fn)
	}
}
