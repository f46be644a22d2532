-- Register (交办台账) → sessions, suggestions, assignments, units.
-- The register is the authority on what exists: for each (session, number) the row in the newest
-- register file wins; older rows are superseded, identical repeats collapse.
-- Run by full builds only: new register rows can change how every other row resolves.

-- A row that names only its year takes the session the register names for that year, if one
-- (in the same statement: an UPDATE of millions of rows is held in memory, never spilled).
CREATE TEMP TABLE reg_rows AS
WITH stated AS (
    SELECT r.*,
           f.report_date AS file_report_date,
           f.received_at,
           f.original_name,
           coalesce(r.session, r.session_hint) AS stated_session,
           coalesce(r.year, r.year_hint) AS eff_year,
           hash(struct_pack(r.number, r.session, r.year, r.kind, r.title, r.lead_deputy, r.cosigners,
                            r.cosigner_count, r.delegation, r.category, r.source, r.proposed_date,
                            r.assigned_date, r.deadline, r.lead_units, r.lead_role, r.co_units, r.is_key,
                            r.key_leader, r.key_committee, r.key_project)) AS content_hash
    FROM stg_register r
    JOIN files f USING (file_id)
),
year_sessions AS (
    SELECT eff_year AS year, min(stated_session) AS session
    FROM stated
    WHERE stated_session IS NOT NULL AND eff_year IS NOT NULL
    GROUP BY eff_year
    HAVING count(DISTINCT stated_session) = 1
)
SELECT s.* EXCLUDE (stated_session), coalesce(s.stated_session, ys.session) AS eff_session
FROM stated s
LEFT JOIN year_sessions ys ON s.stated_session IS NULL AND ys.year = s.eff_year;

-- The year of a session: as the register states it; else the year of its 大会建议's 交办 dates.
CREATE TEMP TABLE session_years AS
SELECT eff_session AS session,
       coalesce(mode(eff_year) FILTER (WHERE eff_year IS NOT NULL),
                year(min(assigned_date) FILTER (WHERE kind = '大会建议')),
                year(min(assigned_date))) AS year
FROM reg_rows
WHERE eff_session IS NOT NULL
GROUP BY eff_session;

CREATE TEMP TABLE reg_checked AS
SELECT r.*,
       sy.year AS session_year,
       CASE
           WHEN r.eff_session IS NULL THEN
               '第' || r.row_no || '行 届次 无法确定: 表中、标题、工作表名和文件名都没有注明届次或年度'
           WHEN sy.year IS NULL THEN
               '第' || r.row_no || '行 年度 无法确定: 届次"' || r.eff_session || '"没有年度, 也没有交办日期'
           WHEN len(coalesce(r.lead_units, [])) = 0 THEN
               '第' || r.row_no || '行 主办单位 为空: 每件建议至少要有一个主办单位'
       END AS reject_reason,
       CASE
           WHEN r.eff_session IS NULL THEN '届次'
           WHEN sy.year IS NULL THEN '年度'
           WHEN len(coalesce(r.lead_units, [])) = 0 THEN '主办单位'
       END AS reject_column
FROM reg_rows r
LEFT JOIN session_years sy ON sy.session = r.eff_session;

CREATE TEMP TABLE reg_ranked AS
SELECT *,
       row_number() OVER w AS rank_in_key,
       first_value(file_id) OVER w AS winner_file_id,
       first_value(row_no) OVER w AS winner_row_no,
       first_value(original_name) OVER w AS winner_name,
       first_value(content_hash) OVER w AS winner_hash
FROM reg_checked
WHERE reject_reason IS NULL
WINDOW w AS (PARTITION BY eff_session, number
             ORDER BY file_report_date DESC NULLS LAST, received_at DESC, file_id DESC, row_no DESC, sheet DESC);

INSERT INTO sessions
SELECT DISTINCT r.eff_session, r.session_year, sc.closing_date
FROM reg_ranked r
LEFT JOIN settings_session_closing sc ON sc.session = r.eff_session
WHERE r.rank_in_key = 1;

INSERT INTO suggestions
SELECT eff_session || '-' || number, eff_session, session_year, number, kind, title, lead_deputy,
       cosigners, cosigner_count, delegation, category, source, proposed_date, assigned_date,
       deadline, coalesce(is_key, FALSE), key_leader, key_committee, key_project, file_id, sheet, row_no
FROM reg_ranked
WHERE rank_in_key = 1;

-- One assignment per (suggestion, unit); a unit named both as lead and co-handler is a lead.
-- (A window, not GROUP BY with arg_max: DuckDB spills the sort, not those aggregates' states.)
INSERT INTO assignments
SELECT suggestion_id, unit, role, is_lead
FROM (
    SELECT r.eff_session || '-' || r.number AS suggestion_id, m.unit,
           coalesce(r.lead_role, '主办') AS role, TRUE AS is_lead
    FROM reg_ranked r, unnest(r.lead_units) AS lead(name)
    JOIN unit_name_map m ON m.raw_name = lead.name
    WHERE r.rank_in_key = 1
    UNION ALL
    SELECT r.eff_session || '-' || r.number, m.unit, '协办', FALSE
    FROM reg_ranked r, unnest(r.co_units) AS co(name)
    JOIN unit_name_map m ON m.raw_name = co.name
    WHERE r.rank_in_key = 1
)
QUALIFY row_number() OVER (PARTITION BY suggestion_id, unit ORDER BY is_lead DESC) = 1;

INSERT INTO row_outcomes
SELECT file_id, sheet, row_no, 'rejected', reject_column, NULL, reject_reason
FROM reg_checked
WHERE reject_reason IS NOT NULL
UNION ALL
SELECT file_id, sheet, row_no,
       CASE WHEN rank_in_key = 1 THEN 'loaded' ELSE 'superseded' END,
       NULL, NULL,
       CASE
           WHEN rank_in_key = 1 THEN NULL
           WHEN winner_file_id = file_id AND winner_hash = content_hash THEN
               '第' || row_no || '行 与第' || winner_row_no || '行重复, 已合并'
           WHEN winner_file_id = file_id THEN
               '第' || row_no || '行 同一文件第' || winner_row_no || '行也登记了第' || number || '号建议, 以后一行为准'
           ELSE
               '第' || row_no || '行 已被较新的交办台账《' || winner_name || '》第' || winner_row_no || '行取代'
       END
FROM reg_ranked;

INSERT INTO units
SELECT DISTINCT a.unit, m.unit_key
FROM assignments a
JOIN (SELECT unit, any_value(unit_key) AS unit_key FROM unit_name_map WHERE raw_name = unit GROUP BY unit) m
  USING (unit);
