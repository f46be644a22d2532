-- The warehouse, layer by layer (dbt-style): lineage → staging (one table per source, as parsed)
-- → clean tables (what the indicator layer reads). A published version is one DuckDB file that
-- holds all of them; it is built apart and switched to atomically (see etl/publish.py).

-- ── lineage ─────────────────────────────────────────────────────────────────────────────────
CREATE TABLE refreshes (
    refresh_id      INTEGER PRIMARY KEY,
    started_at      TIMESTAMP NOT NULL,
    finished_at     TIMESTAMP,
    files_total     INTEGER,
    files_new       INTEGER,
    rows_read       INTEGER,
    rows_loaded     INTEGER,
    rows_superseded INTEGER,
    rows_rejected   INTEGER,
    files_rejected  INTEGER,
    seconds         DOUBLE
);

CREATE TABLE files (
    file_id            INTEGER PRIMARY KEY,
    sha256             VARCHAR NOT NULL UNIQUE,
    original_name      VARCHAR NOT NULL,      -- as received, shown as text only
    size_bytes         BIGINT,
    received_at        TIMESTAMP NOT NULL,    -- first time this content was seen
    kind               VARCHAR,               -- register / unit_export / evaluation (NULL: unreadable)
    sender_unit        VARCHAR,               -- canonical unit name of a unit export's sender
    sender_unit_raw    VARCHAR,
    report_date        DATE,
    report_date_source VARCHAR,               -- 单元格 / 标题 / 文件名 / 文件时间
    sheets             VARCHAR,
    status             VARCHAR NOT NULL,      -- 已载入 / 整体拒收
    reject_reason      VARCHAR,
    rows_read          INTEGER NOT NULL DEFAULT 0
);

-- Every data row of every readable file has exactly one outcome.
CREATE TABLE row_outcomes (
    file_id     INTEGER NOT NULL,
    sheet       VARCHAR,
    row_no      INTEGER,
    outcome     VARCHAR NOT NULL,  -- loaded / superseded / rejected
    column_name VARCHAR,
    value       VARCHAR,
    reason      VARCHAR            -- Chinese, names the row and column
);

-- ── staging: the parsed rows of every accepted file, untouched by resolution ────────────────
-- Columns follow etl/model.py (REGISTER_SCHEMA, UNIT_EXPORT_SCHEMA, EVALUATION_SCHEMA) plus file_id.
-- Created by etl/stage.py from those schemas so that the two never drift apart.

-- ── clean tables ────────────────────────────────────────────────────────────────────────────
CREATE TABLE sessions (
    session      VARCHAR PRIMARY KEY,   -- canonical: 十八届一次
    year         INTEGER NOT NULL,      -- every suggestion of the session belongs to this year
    closing_date DATE                   -- from settings [sessions], for the from_session_close rule
);

CREATE TABLE units (
    unit     VARCHAR PRIMARY KEY,       -- canonical name (the register's spelling)
    unit_key VARCHAR NOT NULL           -- normalised key used to match other spellings
);

-- The place names stripped when unit spellings are compared (成都市 in 成都市教育局 ↔ 市教育局):
-- the setting [etl] city_names when given, else inferred from the data (etl/unitnames.py).
CREATE TABLE place_names (
    name     VARCHAR PRIMARY KEY,
    found_in VARCHAR NOT NULL           -- 设置 / 交办台账 (the register's names) / 单位来文 (units' spellings)
);

-- Spellings in units' files that match no register unit, with the register units they most
-- likely mean (best first); their rows are rejected until a supervisor confirms a match.
CREATE TABLE unit_spelling_candidates (
    spelling   VARCHAR PRIMARY KEY,
    candidates STRUCT(unit VARCHAR, score DOUBLE, rule VARCHAR)[] NOT NULL
);

CREATE TABLE unit_aliases (
    alias  VARCHAR NOT NULL,            -- a spelling seen in a file
    unit   VARCHAR NOT NULL,
    source VARCHAR NOT NULL             -- 别名表 (operator's table) / 自动 (normalisation)
);

CREATE TABLE suggestions (
    suggestion_id     VARCHAR NOT NULL,     -- session || '-' || number, e.g. 十八届一次-12 (unique: build/90_keys.sql)
    session           VARCHAR NOT NULL,
    year              INTEGER NOT NULL,
    number            INTEGER NOT NULL,
    kind              VARCHAR,              -- 大会建议 / 闭会建议
    title             VARCHAR,
    lead_deputy       VARCHAR,
    cosigners         VARCHAR,
    cosigner_count    INTEGER,
    delegation        VARCHAR,
    category          VARCHAR,
    source            VARCHAR,
    proposed_date     DATE,
    assigned_date     DATE,
    register_deadline DATE,                 -- 办理期限 as written in the register (overrides the rule)
    is_key            BOOLEAN NOT NULL DEFAULT FALSE,
    key_leader        VARCHAR,
    key_committee     VARCHAR,
    key_project       VARCHAR,              -- 督办项目: key suggestions naming the same project form one
    file_id           INTEGER,
    sheet             VARCHAR,
    row_no            INTEGER
);

CREATE TABLE assignments (
    suggestion_id VARCHAR NOT NULL,
    unit          VARCHAR NOT NULL,
    role          VARCHAR NOT NULL,     -- 主办 / 分办 / 协办
    is_lead       BOOLEAN NOT NULL      -- 主办 or 分办
);                                      -- one row per (suggestion_id, unit): build/90_keys.sql

-- Every accepted unit-export row, current and superseded: the status history that lets the
-- indicator layer answer any earlier as-of date. The fact columns hold the EFFECTIVE values after
-- this report (silence erases nothing: a blank cell keeps what the unit's earlier reports gave,
-- 20_handling.sql); ``reported`` keeps the row as the file gave it.
CREATE TABLE handling_reports (
    report_id         INTEGER NOT NULL,     -- unique: build/90_keys.sql
    suggestion_id     VARCHAR NOT NULL,
    unit              VARCHAR NOT NULL,
    role              VARCHAR NOT NULL,     -- the register's role for this unit
    report_date       DATE NOT NULL,        -- the export's 填报日期 (orders a unit's exports)
    file_id           INTEGER NOT NULL,
    sheet             VARCHAR,
    row_no            INTEGER,
    status_text       VARCHAR,
    reply_date        DATE,
    result_class      VARCHAR,              -- A / B / C / D
    face_to_face      BOOLEAN,
    evaluation        VARCHAR,              -- 满意 / 基本满意 / 不满意 (as the unit reports it)
    evaluation_work   VARCHAR,
    evaluation_date   DATE,
    promise_text      VARCHAR,
    promise_date      DATE,
    promise_kept      BOOLEAN,
    promise_kept_date DATE,
    extension_date    DATE,
    contact_name      VARCHAR,              -- personal data: supervisors only
    contact_phone     VARCHAR,
    is_current        BOOLEAN NOT NULL,     -- the newest row for (suggestion, unit)
    reported          STRUCT(status_text VARCHAR, reply_date DATE, result_class VARCHAR, face_to_face BOOLEAN,
                             evaluation VARCHAR, evaluation_work VARCHAR, evaluation_date DATE,
                             promise_text VARCHAR, promise_date DATE, promise_kept BOOLEAN,
                             promise_kept_date DATE, extension_date DATE, contact_name VARCHAR,
                             contact_phone VARCHAR)  -- the values as written in the file (blank: NULL)
);

-- Where a unit's newer report gives another value than it gave before (another reply date, a
-- changed class or evaluation, a status moved back): loaded, and listed here for the operator.
CREATE TABLE handling_changes (
    suggestion_id VARCHAR NOT NULL,
    unit          VARCHAR NOT NULL,
    field         VARCHAR NOT NULL,     -- the column as a clerk names it: 答复日期, 办理结果 …
    old_value     VARCHAR NOT NULL,
    new_value     VARCHAR NOT NULL,
    report_id     INTEGER NOT NULL,     -- the report that changed it
    report_date   DATE NOT NULL,
    file_id       INTEGER NOT NULL,
    sheet         VARCHAR,
    row_no        INTEGER
);

-- What the refresh that built this version changed against the version published before it, in
-- the indicator layer's figures (etl/guard.py), and why it was held if it was (then accepted).
CREATE TABLE refresh_differences (
    position INTEGER NOT NULL,
    line     VARCHAR NOT NULL,     -- Chinese: 2026年 办结 18 → 1 / 市教育局 已办结 18 → 1
    is_hold  BOOLEAN NOT NULL      -- a reason the refresh was held
);

-- The congress's own evaluation (满意度测评); outranks what a unit reports.
CREATE TABLE congress_evaluations (
    suggestion_id               VARCHAR NOT NULL,
    unit                        VARCHAR NOT NULL,
    reply_satisfaction          VARCHAR,
    implementation_satisfaction VARCHAR,
    evaluation_date             DATE,
    file_id                     INTEGER NOT NULL,
    sheet                       VARCHAR,
    row_no                      INTEGER
);
