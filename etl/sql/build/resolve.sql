-- Resolve the rows of {source} (unit exports or evaluation sheets) to the register's assignments.
-- Template: {source} is the staging table, {prefix} names the temp tables it produces.
-- A row fits a suggestion when the number matches, the session/year (from the row, else from the
-- sheet name, title or file name) agree, and the register assigns it to the row's unit. No fit →
-- rejected with the reason; two fits → rejected as ambiguous; one fit → resolved.
-- Only the rows of the files this build adds are resolved (file_id > {files_before}; all files in
-- a full build): an earlier row resolves the same way as long as the register does not change.

CREATE TEMP TABLE {prefix}_rows AS
SELECT x.*,
       f.report_date,
       f.received_at,
       f.original_name,
       coalesce(x.unit, f.sender_unit_raw) AS unit_written,
       CASE WHEN x.unit IS NOT NULL THEN mu.unit ELSE ms.unit END AS unit_c,
       coalesce(x.session, x.session_hint) AS eff_session,
       coalesce(x.year, x.year_hint) AS eff_year
FROM {source} x
JOIN files f USING (file_id)
LEFT JOIN unit_name_map mu ON mu.raw_name = x.unit
LEFT JOIN unit_name_map ms ON ms.raw_name = f.sender_unit_raw
WHERE x.file_id > {files_before};

CREATE TEMP TABLE {prefix}_fits AS
SELECT x.row_key, s.suggestion_id, s.session, a.unit AS assigned_unit, a.role AS assigned_role
FROM {prefix}_rows x
JOIN suggestions s
  ON s.number = x.number
 AND (x.eff_session IS NULL OR s.session = x.eff_session)
 AND (x.eff_year IS NULL OR s.year = x.eff_year)
LEFT JOIN assignments a
  ON a.suggestion_id = s.suggestion_id
 AND (a.unit = x.unit_c OR ({unitless_means_leads} AND x.unit_written IS NULL AND a.is_lead));

-- Per row: how many suggestions its number names, and how many of them fit its unit (plain
-- counts over one row per suggestion: DISTINCT and ordered aggregates do not spill, and a
-- national register has millions of rows); the sessions are listed only for the ambiguous rows.
CREATE TEMP TABLE {prefix}_verdict AS
WITH per_suggestion AS (
    SELECT row_key, suggestion_id, any_value(session) AS session, bool_or(assigned_unit IS NOT NULL) AS fits
    FROM {prefix}_fits
    GROUP BY row_key, suggestion_id
),
counted AS (
    SELECT x.row_key, count(p.suggestion_id) AS n_numbered, count(*) FILTER (WHERE p.fits) AS n_fits
    FROM {prefix}_rows x
    LEFT JOIN per_suggestion p USING (row_key)
    GROUP BY x.row_key
)
SELECT c.*, a.fit_sessions
FROM counted c
LEFT JOIN (
    SELECT row_key, string_agg(session, '、' ORDER BY session) AS fit_sessions
    FROM per_suggestion
    WHERE fits AND row_key IN (SELECT row_key FROM counted WHERE n_fits > 1)
    GROUP BY row_key
) a USING (row_key);

CREATE TEMP TABLE {prefix}_checked AS
SELECT x.*,
       CASE
           WHEN x.unit_written IS NULL AND NOT {unitless_means_leads} THEN
               '第' || x.row_no || '行 承办单位 无法确定: 表中没有承办单位, 表头和文件名也未注明填报单位'
           WHEN x.unit_written IS NOT NULL AND x.unit_c IS NULL THEN
               '第' || x.row_no || '行 承办单位 "' || x.unit_written || '" 不是交办台账中的单位'
               || coalesce(': 可能是 "' || c.candidates[1].unit || '", 待督办人员在数据状态页确认后载入',
                           ': 请核对单位名称, 或由督办人员在数据状态页登记这一写法')
           WHEN v.n_numbered = 0 THEN
               '第' || x.row_no || '行 建议编号 ' || x.number || ' 在交办台账中不存在'
               || coalesce(' (届次: ' || x.eff_session || ')', '') || coalesce(' (年度: ' || x.eff_year || ')', '')
           WHEN v.n_fits = 0 THEN
               '第' || x.row_no || '行 交办台账没有把第' || x.number || '号建议交给'
               || coalesce(x.unit_c, '该单位') || '办理'
           WHEN v.n_fits > 1 THEN
               '第' || x.row_no || '行 建议编号 ' || x.number || ' 在' || v.fit_sessions
               || '都有, 无法确定是哪一件: 请在文件名、标题或工作表名中注明年度或届次'
       END AS reject_reason,
       CASE
           WHEN x.unit_written IS NULL AND NOT {unitless_means_leads} THEN '承办单位'
           WHEN x.unit_written IS NOT NULL AND x.unit_c IS NULL THEN '承办单位'
           WHEN v.n_fits <> 1 THEN '建议编号'
       END AS reject_column,
       CASE
           WHEN x.unit_written IS NOT NULL AND x.unit_c IS NULL THEN x.unit_written
           WHEN v.n_fits <> 1 THEN CAST(x.number AS VARCHAR)
       END AS reject_value
FROM {prefix}_rows x
JOIN {prefix}_verdict v USING (row_key)
LEFT JOIN unit_spelling_candidates c ON c.spelling = x.unit_written;

CREATE TEMP TABLE {prefix}_resolved AS
SELECT x.*, fi.suggestion_id, fi.assigned_unit AS resolved_unit, fi.assigned_role
FROM {prefix}_checked x
JOIN {prefix}_fits fi USING (row_key)
WHERE x.reject_reason IS NULL AND fi.assigned_unit IS NOT NULL;

INSERT INTO row_outcomes
SELECT file_id, sheet, row_no, 'rejected', reject_column, reject_value, reject_reason
FROM {prefix}_checked
WHERE reject_reason IS NOT NULL;
