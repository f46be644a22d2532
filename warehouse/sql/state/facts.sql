-- The version's own aggregates (no T in them), built once per version into {target}:
--   file_outcomes   per file_id: rows_loaded, rows_superseded, rows_rejected
--   unit_reports    per unit: last_report_date, files (sent), assignments
--   assigned_units  every unit with an assignment
--   scope_values    per (year, session, kind, category): n suggestions, first_assigned,
--                   first_assigned_congress (大会建议): filters and 同比 reference dates
--   rejected_rows   every rejected row: file_id, file_name, sheet, row_no, column_name, value,
--                   reason, sender_unit, received_at
--   last_report     d: the newest report_date
CREATE TABLE {target}.file_outcomes AS
    SELECT file_id, count(*) FILTER (WHERE outcome = 'loaded') AS rows_loaded,
           count(*) FILTER (WHERE outcome = 'superseded') AS rows_superseded,
           count(*) FILTER (WHERE outcome = 'rejected') AS rows_rejected
    FROM row_outcomes GROUP BY file_id;
CREATE TABLE {target}.unit_reports AS
    SELECT u.unit, r.last_report_date, COALESCE(r.files, 0) AS files, COALESCE(a.assignments, 0) AS assignments
    FROM units u
    LEFT JOIN (SELECT unit, max(report_date) AS last_report_date, count(DISTINCT file_id) AS files
               FROM handling_reports GROUP BY unit) r USING (unit)
    LEFT JOIN (SELECT unit, count(*) AS assignments FROM assignments GROUP BY unit) a USING (unit);
CREATE TABLE {target}.assigned_units AS SELECT DISTINCT unit FROM assignments;
CREATE TABLE {target}.scope_values AS
    SELECT year, session, kind, category, count(*) AS n,
           min(assigned_date) AS first_assigned,
           min(assigned_date) FILTER (WHERE kind = '大会建议') AS first_assigned_congress
    FROM suggestions GROUP BY ALL;
CREATE TABLE {target}.rejected_rows AS
    SELECT o.file_id, f.original_name AS file_name, o.sheet, o.row_no, o.column_name, o.value, o.reason,
           f.sender_unit, f.received_at
    FROM row_outcomes o JOIN files f USING (file_id) WHERE o.outcome = 'rejected';
CREATE TABLE {target}.last_report AS SELECT max(report_date) AS d FROM handling_reports;
