-- Resolved unit-export rows → handling_reports (the status history) and their outcomes.
-- Within a file, repeated rows for the same assignment collapse to the last one. Across a unit's
-- exports, the row of the newest export (by 填报日期, then receipt) is current; older rows are
-- superseded but kept, so the indicator layer can answer earlier as-of dates.

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

CREATE TEMP TABLE ux_history AS
SELECT *,
       row_number() OVER (PARTITION BY suggestion_id, resolved_unit
                          ORDER BY report_date DESC, received_at DESC, file_id DESC) = 1 AS is_current,
       first_value(report_date) OVER (PARTITION BY suggestion_id, resolved_unit
                                      ORDER BY report_date DESC, received_at DESC, file_id DESC) AS newest_date,
       first_value(original_name) OVER (PARTITION BY suggestion_id, resolved_unit
                                        ORDER BY report_date DESC, received_at DESC, file_id DESC) AS newest_name
FROM ux_in_file
WHERE rank_in_file = 1;

INSERT INTO handling_reports
SELECT row_number() OVER (ORDER BY h.file_id, h.sheet, h.row_no),
       h.suggestion_id, h.resolved_unit, a.role, h.report_date, h.file_id, h.sheet, h.row_no,
       h.status_text, h.reply_date, h.result_class, h.face_to_face, h.evaluation, h.evaluation_work,
       h.evaluation_date, h.promise_text, h.promise_date, h.promise_kept, h.promise_kept_date,
       h.extension_date, h.contact_name, h.contact_phone, h.is_current
FROM ux_history h
JOIN assignments a ON a.suggestion_id = h.suggestion_id AND a.unit = h.resolved_unit;

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
