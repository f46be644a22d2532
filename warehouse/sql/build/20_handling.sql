-- Resolved unit-export rows → handling_reports (the status history) and their outcomes.
-- Within a file, repeated rows for the same assignment collapse to the last one. Across a unit's
-- exports, the row of the newest export (by 填报日期, then receipt) is current; older rows are
-- superseded but kept, so the indicator layer can answer earlier as-of dates.
-- ux_resolved holds the rows of the files this build adds (every file in a full build). The
-- history of each (suggestion, unit) pair they touch is redone with the rows kept earlier for
-- that pair, so extending a version gives the tables a full build gives.

CREATE TEMP TABLE ux_content AS
SELECT r.*,
       hash(struct_pack(r.reply_date, r.result_class, r.face_to_face, r.evaluation, r.evaluation_work,
                        r.evaluation_date, r.promise_text, r.promise_date, r.promise_kept,
                        r.promise_kept_date, r.extension_date, r.status_text, r.role)) AS content_hash
FROM ux_resolved r;

CREATE TEMP TABLE ux_in_file AS
SELECT *,
       row_number() OVER w AS rank_in_file,
       first_value(row_no) OVER w AS kept_row_no,
       first_value(content_hash) OVER w AS kept_hash
FROM ux_content
WINDOW w AS (PARTITION BY file_id, suggestion_id, resolved_unit ORDER BY row_no DESC, sheet DESC);

-- The history of every pair the new rows touch: the new rows and the ones kept earlier (these
-- carry their report_id: they are updated, the new ones inserted).
CREATE TEMP TABLE ux_history AS
SELECT *,
       row_number() OVER w = 1 AS is_current,
       first_value(report_date) OVER w AS newest_date,
       first_value(original_name) OVER w AS newest_name
FROM (
    SELECT * FROM ux_in_file WHERE rank_in_file = 1
    UNION ALL BY NAME
    SELECT h.report_id, h.suggestion_id, h.unit AS resolved_unit, h.report_date, h.file_id, h.sheet, h.row_no,
           f.received_at, f.original_name
    FROM handling_reports h
    JOIN files f USING (file_id)
    WHERE EXISTS (SELECT 1 FROM ux_in_file n WHERE n.suggestion_id = h.suggestion_id AND n.resolved_unit = h.unit)
)
WINDOW w AS (PARTITION BY suggestion_id, resolved_unit ORDER BY report_date DESC, received_at DESC, file_id DESC);

UPDATE handling_reports SET is_current = h.is_current
FROM ux_history h
WHERE h.report_id = handling_reports.report_id AND h.is_current <> handling_reports.is_current;

-- The earlier rows' outcomes are written again below, with the new rows'.
DELETE FROM row_outcomes
USING ux_history h
WHERE h.report_id IS NOT NULL
  AND row_outcomes.file_id = h.file_id AND row_outcomes.row_no = h.row_no
  AND row_outcomes.sheet IS NOT DISTINCT FROM h.sheet;

INSERT INTO handling_reports
SELECT (SELECT coalesce(max(report_id), 0) FROM handling_reports) + row_number() OVER (ORDER BY h.file_id, h.sheet, h.row_no),
       h.suggestion_id, h.resolved_unit, a.role, h.report_date, h.file_id, h.sheet, h.row_no,
       h.status_text, h.reply_date, h.result_class, h.face_to_face, h.evaluation, h.evaluation_work,
       h.evaluation_date, h.promise_text, h.promise_date, h.promise_kept, h.promise_kept_date,
       h.extension_date, h.contact_name, h.contact_phone, h.is_current
FROM ux_history h
JOIN assignments a ON a.suggestion_id = h.suggestion_id AND a.unit = h.resolved_unit
WHERE h.report_id IS NULL;

INSERT INTO row_outcomes
SELECT file_id, sheet, row_no, 'superseded', NULL, NULL,
       CASE WHEN content_hash = kept_hash
            THEN '第' || row_no || '行 与第' || kept_row_no || '行重复, 已合并'
            ELSE '第' || row_no || '行 同一文件第' || kept_row_no || '行也报了第' || number
                 || '号建议, 以后一行为准'
       END
FROM ux_in_file
WHERE rank_in_file > 1
UNION ALL
SELECT file_id, sheet, row_no,
       CASE WHEN is_current THEN 'loaded' ELSE 'superseded' END, NULL, NULL,
       CASE WHEN is_current THEN NULL
            ELSE '第' || row_no || '行 已被' || resolved_unit || ' ' || strftime(newest_date, '%Y-%m-%d')
                 || ' 报送的《' || newest_name || '》取代'
       END
FROM ux_history;
