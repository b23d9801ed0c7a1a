-- Open environmental data (hub-server/internal/sta, internal/opendata; the
-- vocabulary and quality flags in internal/air): where each terminal
-- stands and what of it is published, its datastreams and their per-minute
-- observations, hourly means for datastreams published hourly.
-- Portable SQL as in 00001; values are DOUBLE PRECISION (REAL affinity in
-- SQLite). Minutes and hours are unix minutes (start of the minute, UTC).

-- +goose Up
-- A terminal's site: its point (WGS 84), a public description of the
-- place, whether it stands indoors, and what is published of it. publish
-- is a JSON object quantity → "minute" | "hour" | "off" overriding the
-- defaults (outdoors every quantity per minute; indoors CO2 hourly, the
-- rest per minute). A terminal without a site row is not published.
-- version counts edits for compare-and-swap between staff.
CREATE TABLE terminal_sites (
    terminal_num BIGINT           NOT NULL PRIMARY KEY REFERENCES terminals (num),
    latitude     DOUBLE PRECISION NOT NULL,
    longitude    DOUBLE PRECISION NOT NULL,
    place        TEXT             NOT NULL,
    indoor       BIGINT           NOT NULL,
    publish      TEXT             NOT NULL,
    version      BIGINT           NOT NULL,
    updated_at   BIGINT           NOT NULL
);

-- One datastream per terminal, sensor (the device's id on the terminal)
-- and quantity, made when its first minute arrives. id is SensorThings'
-- @iot.id. resolution is what is published, kept in step with the site:
-- "minute", "hour" or "off". first_minute and last_minute bound the
-- stored observations (last_minute answers "latest" without a scan).
CREATE TABLE datastreams (
    id           BIGINT NOT NULL PRIMARY KEY,
    terminal_num BIGINT NOT NULL REFERENCES terminals (num),
    sensor       TEXT   NOT NULL,
    model        TEXT   NOT NULL,
    quantity     TEXT   NOT NULL,
    unit         TEXT   NOT NULL,
    resolution   TEXT   NOT NULL,
    first_minute BIGINT NOT NULL,
    last_minute  BIGINT NOT NULL,
    UNIQUE (terminal_num, sensor, quantity)
);

-- One row per datastream and minute: the terminal's statistics as sent
-- (never changed) and the hub's quality flags (internal/air.Flags).
-- flat_run counts the minutes up to this one whose samples were all the
-- same value as this one's (FlatLine). A SensorThings Observation's
-- @iot.id is datastream_id * 100000000 + minute.
CREATE TABLE observations (
    datastream_id BIGINT           NOT NULL,
    minute        BIGINT           NOT NULL,
    mean          DOUBLE PRECISION NOT NULL,
    min           DOUBLE PRECISION NOT NULL,
    max           DOUBLE PRECISION NOT NULL,
    count         BIGINT           NOT NULL,
    expected      BIGINT           NOT NULL,
    warmup        BIGINT           NOT NULL,
    invalid       BIGINT           NOT NULL,
    flags         BIGINT           NOT NULL,
    flat_run      BIGINT           NOT NULL,
    PRIMARY KEY (datastream_id, minute)
) /*sqlite: WITHOUT ROWID*/;
-- Windows across datastreams (a day's file, $filter on phenomenonTime).
CREATE INDEX observations_minute ON observations (minute, datastream_id);

-- Hourly means of every datastream, kept up to date as minutes arrive so a
-- datastream published hourly (indoor CO2) has them from its first day.
-- hour is the unix minute the hour starts; sum is Σ mean over its minutes
-- (mean = sum / minutes); count, expected, warmup and invalid add up the
-- samples; flags is the union of its minutes' flags.
CREATE TABLE observations_hourly (
    datastream_id BIGINT           NOT NULL,
    hour          BIGINT           NOT NULL,
    sum           DOUBLE PRECISION NOT NULL,
    min           DOUBLE PRECISION NOT NULL,
    max           DOUBLE PRECISION NOT NULL,
    minutes       BIGINT           NOT NULL,
    count         BIGINT           NOT NULL,
    expected      BIGINT           NOT NULL,
    warmup        BIGINT           NOT NULL,
    invalid       BIGINT           NOT NULL,
    flags         BIGINT           NOT NULL,
    PRIMARY KEY (datastream_id, hour)
) /*sqlite: WITHOUT ROWID*/;

-- +goose Down
DROP TABLE observations_hourly;
DROP TABLE observations;
DROP TABLE datastreams;
DROP TABLE terminal_sites;
