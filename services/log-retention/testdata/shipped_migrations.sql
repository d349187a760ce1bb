-- m20261129_000001_log_tables up Postgres
CREATE TABLE IF NOT EXISTS access_log (event_id TEXT NOT NULL, ts TIMESTAMPTZ NOT NULL, "visitor_id" TEXT NOT NULL DEFAULT '', "ip" TEXT NOT NULL DEFAULT '', "method" TEXT NOT NULL DEFAULT '', "path" TEXT NOT NULL DEFAULT '', "status" BIGINT NOT NULL DEFAULT 0, "latency_us" BIGINT NOT NULL DEFAULT 0, "referrer" TEXT NOT NULL DEFAULT '', "browser_family" TEXT NOT NULL DEFAULT '', "browser_version" TEXT NOT NULL DEFAULT '', "os_family" TEXT NOT NULL DEFAULT '', "device_class" TEXT NOT NULL DEFAULT '', "language" TEXT NOT NULL DEFAULT '', "trace_id" TEXT NOT NULL DEFAULT '', PRIMARY KEY (event_id, ts)) PARTITION BY RANGE (ts)
CREATE INDEX IF NOT EXISTS access_log_visitor_idx ON access_log (visitor_id, ts)
CREATE TABLE IF NOT EXISTS crash_reports (event_id TEXT NOT NULL, ts TIMESTAMPTZ NOT NULL, "visitor_id" TEXT NOT NULL DEFAULT '', "page" TEXT NOT NULL DEFAULT '', "message" TEXT NOT NULL DEFAULT '', "source" TEXT NOT NULL DEFAULT '', "line" BIGINT NOT NULL DEFAULT 0, "column" BIGINT NOT NULL DEFAULT 0, "stack" TEXT NOT NULL DEFAULT '', "browser_family" TEXT NOT NULL DEFAULT '', "os_family" TEXT NOT NULL DEFAULT '', PRIMARY KEY (event_id, ts)) PARTITION BY RANGE (ts)
CREATE INDEX IF NOT EXISTS crash_reports_visitor_idx ON crash_reports (visitor_id, ts)
CREATE TABLE IF NOT EXISTS captcha_events (event_id TEXT NOT NULL, ts TIMESTAMPTZ NOT NULL, "visitor_id" TEXT NOT NULL DEFAULT '', "ip" TEXT NOT NULL DEFAULT '', "outcome" TEXT NOT NULL DEFAULT '', "max_number" BIGINT NOT NULL DEFAULT 0, "site_key" TEXT NOT NULL DEFAULT '', PRIMARY KEY (event_id, ts)) PARTITION BY RANGE (ts)
CREATE INDEX IF NOT EXISTS captcha_events_visitor_idx ON captcha_events (visitor_id, ts)
-- m20261129_000001_log_tables down Postgres
DROP TABLE IF EXISTS access_log
DROP TABLE IF EXISTS crash_reports
DROP TABLE IF EXISTS captcha_events
-- m20261129_000001_log_tables up Sqlite
CREATE TABLE IF NOT EXISTS access_log (event_id TEXT NOT NULL PRIMARY KEY, ts TEXT NOT NULL, "visitor_id" TEXT NOT NULL DEFAULT '', "ip" TEXT NOT NULL DEFAULT '', "method" TEXT NOT NULL DEFAULT '', "path" TEXT NOT NULL DEFAULT '', "status" INTEGER NOT NULL DEFAULT 0, "latency_us" INTEGER NOT NULL DEFAULT 0, "referrer" TEXT NOT NULL DEFAULT '', "browser_family" TEXT NOT NULL DEFAULT '', "browser_version" TEXT NOT NULL DEFAULT '', "os_family" TEXT NOT NULL DEFAULT '', "device_class" TEXT NOT NULL DEFAULT '', "language" TEXT NOT NULL DEFAULT '', "trace_id" TEXT NOT NULL DEFAULT '')
CREATE INDEX IF NOT EXISTS access_log_visitor_idx ON access_log (visitor_id, ts)
CREATE INDEX IF NOT EXISTS access_log_ts_idx ON access_log (ts)
CREATE TABLE IF NOT EXISTS crash_reports (event_id TEXT NOT NULL PRIMARY KEY, ts TEXT NOT NULL, "visitor_id" TEXT NOT NULL DEFAULT '', "page" TEXT NOT NULL DEFAULT '', "message" TEXT NOT NULL DEFAULT '', "source" TEXT NOT NULL DEFAULT '', "line" INTEGER NOT NULL DEFAULT 0, "column" INTEGER NOT NULL DEFAULT 0, "stack" TEXT NOT NULL DEFAULT '', "browser_family" TEXT NOT NULL DEFAULT '', "os_family" TEXT NOT NULL DEFAULT '')
CREATE INDEX IF NOT EXISTS crash_reports_visitor_idx ON crash_reports (visitor_id, ts)
CREATE INDEX IF NOT EXISTS crash_reports_ts_idx ON crash_reports (ts)
CREATE TABLE IF NOT EXISTS captcha_events (event_id TEXT NOT NULL PRIMARY KEY, ts TEXT NOT NULL, "visitor_id" TEXT NOT NULL DEFAULT '', "ip" TEXT NOT NULL DEFAULT '', "outcome" TEXT NOT NULL DEFAULT '', "max_number" INTEGER NOT NULL DEFAULT 0, "site_key" TEXT NOT NULL DEFAULT '')
CREATE INDEX IF NOT EXISTS captcha_events_visitor_idx ON captcha_events (visitor_id, ts)
CREATE INDEX IF NOT EXISTS captcha_events_ts_idx ON captcha_events (ts)
-- m20261129_000001_log_tables down Sqlite
DROP TABLE IF EXISTS access_log
DROP TABLE IF EXISTS crash_reports
DROP TABLE IF EXISTS captcha_events
-- m20261129_000002_stat_tables up Postgres
CREATE TABLE IF NOT EXISTS stat_pageviews (event_id TEXT NOT NULL, ts TIMESTAMPTZ NOT NULL, "t" BIGINT NOT NULL DEFAULT 0, "day" TEXT NOT NULL DEFAULT '', "visitor_hash" TEXT NOT NULL DEFAULT '', "path" TEXT NOT NULL DEFAULT '', "number" TEXT NOT NULL DEFAULT '', "referrer" TEXT NOT NULL DEFAULT '', "utm_source" TEXT NOT NULL DEFAULT '', "browser" TEXT NOT NULL DEFAULT '', "os" TEXT NOT NULL DEFAULT '', "device" TEXT NOT NULL DEFAULT '', "country" TEXT NOT NULL DEFAULT '', "is_bot" BIGINT NOT NULL DEFAULT 0, "status" BIGINT NOT NULL DEFAULT 0, "pageview" BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (event_id, ts)) PARTITION BY RANGE (ts)
CREATE INDEX IF NOT EXISTS stat_pageviews_ts_idx ON stat_pageviews (ts)
CREATE TABLE IF NOT EXISTS stat_salts (day TEXT NOT NULL PRIMARY KEY, salt TEXT NOT NULL)
-- m20261129_000002_stat_tables down Postgres
DROP TABLE IF EXISTS stat_pageviews
DROP TABLE IF EXISTS stat_salts
-- m20261129_000002_stat_tables up Sqlite
CREATE TABLE IF NOT EXISTS stat_pageviews (event_id TEXT NOT NULL PRIMARY KEY, ts TEXT NOT NULL, "t" INTEGER NOT NULL DEFAULT 0, "day" TEXT NOT NULL DEFAULT '', "visitor_hash" TEXT NOT NULL DEFAULT '', "path" TEXT NOT NULL DEFAULT '', "number" TEXT NOT NULL DEFAULT '', "referrer" TEXT NOT NULL DEFAULT '', "utm_source" TEXT NOT NULL DEFAULT '', "browser" TEXT NOT NULL DEFAULT '', "os" TEXT NOT NULL DEFAULT '', "device" TEXT NOT NULL DEFAULT '', "country" TEXT NOT NULL DEFAULT '', "is_bot" INTEGER NOT NULL DEFAULT 0, "status" INTEGER NOT NULL DEFAULT 0, "pageview" INTEGER NOT NULL DEFAULT 0)
CREATE INDEX IF NOT EXISTS stat_pageviews_ts_idx ON stat_pageviews (ts)
CREATE TABLE IF NOT EXISTS stat_salts (day TEXT NOT NULL PRIMARY KEY, salt TEXT NOT NULL)
-- m20261129_000002_stat_tables down Sqlite
DROP TABLE IF EXISTS stat_pageviews
DROP TABLE IF EXISTS stat_salts
-- m20261203_000003_byte_order_keys up Postgres
ALTER TABLE access_log ALTER COLUMN event_id TYPE TEXT COLLATE "C", ALTER COLUMN visitor_id TYPE TEXT COLLATE "C"
ALTER TABLE crash_reports ALTER COLUMN event_id TYPE TEXT COLLATE "C", ALTER COLUMN visitor_id TYPE TEXT COLLATE "C"
ALTER TABLE captcha_events ALTER COLUMN event_id TYPE TEXT COLLATE "C", ALTER COLUMN visitor_id TYPE TEXT COLLATE "C"
ALTER TABLE stat_pageviews ALTER COLUMN event_id TYPE TEXT COLLATE "C", ALTER COLUMN visitor_hash TYPE TEXT COLLATE "C"
-- m20261203_000003_byte_order_keys down Postgres
ALTER TABLE access_log ALTER COLUMN event_id TYPE TEXT COLLATE "default", ALTER COLUMN visitor_id TYPE TEXT COLLATE "default"
ALTER TABLE crash_reports ALTER COLUMN event_id TYPE TEXT COLLATE "default", ALTER COLUMN visitor_id TYPE TEXT COLLATE "default"
ALTER TABLE captcha_events ALTER COLUMN event_id TYPE TEXT COLLATE "default", ALTER COLUMN visitor_id TYPE TEXT COLLATE "default"
ALTER TABLE stat_pageviews ALTER COLUMN event_id TYPE TEXT COLLATE "default", ALTER COLUMN visitor_hash TYPE TEXT COLLATE "default"
-- m20261203_000003_byte_order_keys up Sqlite

-- m20261203_000003_byte_order_keys down Sqlite

-- m20261203_000004_stat_time_key up Postgres
ALTER TABLE stat_pageviews DROP CONSTRAINT IF EXISTS stat_pageviews_pkey, ADD CONSTRAINT stat_pageviews_pkey PRIMARY KEY (ts, event_id)
DROP INDEX IF EXISTS stat_pageviews_ts_idx
-- m20261203_000004_stat_time_key down Postgres
ALTER TABLE stat_pageviews DROP CONSTRAINT IF EXISTS stat_pageviews_pkey, ADD CONSTRAINT stat_pageviews_pkey PRIMARY KEY (event_id, ts)
CREATE INDEX IF NOT EXISTS stat_pageviews_ts_idx ON stat_pageviews (ts)
-- m20261203_000004_stat_time_key up Sqlite

-- m20261203_000004_stat_time_key down Sqlite

-- m20261204_000005_admin_audit up Postgres
CREATE TABLE IF NOT EXISTS admin_audit (id BIGSERIAL PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, ts TIMESTAMPTZ NOT NULL, operator TEXT NOT NULL DEFAULT '', action TEXT NOT NULL DEFAULT '', target TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '', trace_id TEXT NOT NULL DEFAULT '')
CREATE INDEX IF NOT EXISTS admin_audit_ts_idx ON admin_audit (ts)
-- m20261204_000005_admin_audit down Postgres
DROP TABLE IF EXISTS admin_audit
-- m20261204_000005_admin_audit up Sqlite
CREATE TABLE IF NOT EXISTS admin_audit (id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT NOT NULL UNIQUE, ts TEXT NOT NULL, operator TEXT NOT NULL DEFAULT '', action TEXT NOT NULL DEFAULT '', target TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL DEFAULT '', trace_id TEXT NOT NULL DEFAULT '')
CREATE INDEX IF NOT EXISTS admin_audit_ts_idx ON admin_audit (ts)
-- m20261204_000005_admin_audit down Sqlite
DROP TABLE IF EXISTS admin_audit
-- m20261204_000006_lean_page_view_indexes up Postgres
ALTER TABLE stat_pageviews DROP CONSTRAINT IF EXISTS stat_pageviews_pkey
CREATE INDEX IF NOT EXISTS stat_pageviews_ts_brin ON stat_pageviews USING brin (ts) WITH (autosummarize = on)
ALTER TABLE access_log DROP CONSTRAINT IF EXISTS access_log_pkey, ADD CONSTRAINT access_log_pkey PRIMARY KEY (ts, event_id)
DROP INDEX IF EXISTS access_log_visitor_idx
CREATE INDEX IF NOT EXISTS access_log_visitor_hash_idx ON access_log (hashtextextended(visitor_id, 0)) WHERE visitor_id <> ''
ALTER TABLE crash_reports DROP CONSTRAINT IF EXISTS crash_reports_pkey, ADD CONSTRAINT crash_reports_pkey PRIMARY KEY (ts, event_id)
DROP INDEX IF EXISTS crash_reports_visitor_idx
CREATE INDEX IF NOT EXISTS crash_reports_visitor_hash_idx ON crash_reports (hashtextextended(visitor_id, 0)) WHERE visitor_id <> ''
ALTER TABLE captcha_events DROP CONSTRAINT IF EXISTS captcha_events_pkey, ADD CONSTRAINT captcha_events_pkey PRIMARY KEY (ts, event_id)
DROP INDEX IF EXISTS captcha_events_visitor_idx
CREATE INDEX IF NOT EXISTS captcha_events_visitor_hash_idx ON captcha_events (hashtextextended(visitor_id, 0)) WHERE visitor_id <> ''
-- m20261204_000006_lean_page_view_indexes down Postgres
ALTER TABLE access_log DROP CONSTRAINT IF EXISTS access_log_pkey, ADD CONSTRAINT access_log_pkey PRIMARY KEY (event_id, ts)
DROP INDEX IF EXISTS access_log_visitor_hash_idx
CREATE INDEX IF NOT EXISTS access_log_visitor_idx ON access_log (visitor_id, ts)
ALTER TABLE crash_reports DROP CONSTRAINT IF EXISTS crash_reports_pkey, ADD CONSTRAINT crash_reports_pkey PRIMARY KEY (event_id, ts)
DROP INDEX IF EXISTS crash_reports_visitor_hash_idx
CREATE INDEX IF NOT EXISTS crash_reports_visitor_idx ON crash_reports (visitor_id, ts)
ALTER TABLE captcha_events DROP CONSTRAINT IF EXISTS captcha_events_pkey, ADD CONSTRAINT captcha_events_pkey PRIMARY KEY (event_id, ts)
DROP INDEX IF EXISTS captcha_events_visitor_hash_idx
CREATE INDEX IF NOT EXISTS captcha_events_visitor_idx ON captcha_events (visitor_id, ts)
DROP INDEX IF EXISTS stat_pageviews_ts_brin
DELETE FROM stat_pageviews a USING stat_pageviews b WHERE a.event_id = b.event_id AND a.ts = b.ts AND a.ctid > b.ctid
ALTER TABLE stat_pageviews ADD CONSTRAINT stat_pageviews_pkey PRIMARY KEY (ts, event_id)
-- m20261204_000006_lean_page_view_indexes up Sqlite

-- m20261204_000006_lean_page_view_indexes down Sqlite

