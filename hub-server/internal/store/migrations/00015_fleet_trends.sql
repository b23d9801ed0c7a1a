-- Fleet health over time (hub-server/internal/fleet's TrendSampler): one
-- row per sample, every few minutes, pruned by age, for the console's
-- charts of online terminals, unsent records and open alerts.
-- Portable SQL as in 00001 (times BIGINT unix nanoseconds).

-- +goose Up
-- terminals counts every enrolled terminal; online + offline + never +
-- revoked = terminals (never: enrolled, not seen since). unsent is the sum
-- of the outbox backlogs of the terminals' latest heartbeats (revoked ones
-- left out: what they hold will not arrive). open_alerts counts open
-- alerts; unacked_alerts those nobody acknowledged.
CREATE TABLE fleet_trends (
    sampled_at     BIGINT NOT NULL PRIMARY KEY,
    terminals      BIGINT NOT NULL,
    online         BIGINT NOT NULL,
    offline        BIGINT NOT NULL,
    never          BIGINT NOT NULL,
    revoked        BIGINT NOT NULL,
    unsent         BIGINT NOT NULL,
    open_alerts    BIGINT NOT NULL,
    unacked_alerts BIGINT NOT NULL
);

-- +goose Down
DROP TABLE fleet_trends;
