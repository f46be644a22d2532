-- Resolved unit-export rows → handling_reports (the status history) and their outcomes.
-- Within a file, repeated rows for the same assignment collapse to the last one. Across a unit's
-- exports, the row of the newest export (by 填报日期, then receipt) is current; older rows are
-- superseded but kept, so the indicator layer can answer earlier as-of dates.
-- Silence erases nothing: each report's facts are stored carried forward field by field (the
-- newest non-blank value among the pair's reports up to it), the file's own values in
-- ``reported``. A newer non-blank value that differs from the one in force is a change, listed in
-- handling_changes (a status only when it moves back, a promise only when kept turns not kept;
-- contacts are not listed: a new clerk is no contradiction).
-- ux_resolved holds the rows of the files this build adds (every file in a full build). The
-- history of each (suggestion, unit) pair they touch is redone with the rows kept earlier for
-- that pair, so extending a version gives the tables a full build gives.

-- Dates after today cannot be true: a row replying in the future, or every row of an export whose
-- 填报日期 is in the future (it would outrank every later report), is rejected with the reason.
CREATE TEMP TABLE ux_future AS
SELECT file_id, sheet, row_no,
       CASE WHEN report_date > current_date THEN '填报日期' ELSE '答复日期' END AS column_name,
       strftime(CASE WHEN report_date > current_date THEN report_date ELSE reply_date END, '%Y-%m-%d') AS value
FROM ux_resolved
WHERE report_date > current_date OR reply_date > current_date;

INSERT INTO row_outcomes
SELECT file_id, sheet, row_no, 'rejected', column_name, value,
       CASE column_name
           WHEN '填报日期' THEN '第' || row_no || '行 文件的填报日期 "' || value || '" 晚于今天, 本文件不载入 (请改正填报日期后重新报送)'
           ELSE '第' || row_no || '行 答复日期 "' || value || '" 晚于今天'
       END
FROM ux_future;

CREATE TEMP TABLE ux_content AS
SELECT r.*,
       hash(struct_pack(r.reply_date, r.result_class, r.face_to_face, r.evaluation, r.evaluation_work,
                        r.evaluation_date, r.promise_text, r.promise_date, r.promise_kept,
                        r.promise_kept_date, r.extension_date, r.status_text, r.role)) AS content_hash
FROM ux_resolved r
WHERE NOT EXISTS (SELECT 1 FROM ux_future f
                  WHERE f.file_id = r.file_id AND f.row_no = r.row_no AND f.sheet IS NOT DISTINCT FROM r.sheet);

CREATE TEMP TABLE ux_in_file AS
SELECT *,
       row_number() OVER w AS rank_in_file,
       first_value(row_no) OVER w AS kept_row_no,
       first_value(content_hash) OVER w AS kept_hash
FROM ux_content
WINDOW w AS (PARTITION BY file_id, suggestion_id, resolved_unit ORDER BY row_no DESC, sheet DESC);

-- The history of every pair the new rows touch: the new rows and the ones kept earlier (these
-- carry their report_id and their values as reported; all are written again, the new ones with
-- the next report_ids), in report order (report date, receipt, file). One sort gives each report
-- its place, whether it is current, the facts in force after it (the newest non-blank value up
-- to it) and the ones in force before it (to list what it changes).
CREATE TEMP TABLE ux_effective AS
SELECT coalesce(earlier_report_id,
                (SELECT coalesce(max(report_id), 0) FROM handling_reports)
                + row_number() OVER (PARTITION BY earlier_report_id IS NULL ORDER BY file_id, sheet, row_no))
           AS report_id,
       earlier_report_id IS NOT NULL AS kept_earlier,
       suggestion_id, resolved_unit, assigned_role, report_date, file_id, sheet, row_no,
       row_number() OVER pair AS seq,
       row_number() OVER pair = count(*) OVER whole_pair AS is_current,
       last_value(report_date) OVER whole_pair AS newest_date,
       last_value(original_name) OVER whole_pair AS newest_name,
       struct_pack(status_text, reply_date, result_class, face_to_face, evaluation, evaluation_work,
                   evaluation_date, promise_text, promise_date, promise_kept, promise_kept_date,
                   extension_date, contact_name, contact_phone) AS reported,
       last_value(COLUMNS(['status_text', 'reply_date', 'result_class', 'face_to_face', 'evaluation',
                           'evaluation_work', 'evaluation_date', 'promise_text', 'promise_date',
                           'promise_kept', 'promise_kept_date', 'extension_date', 'contact_name',
                           'contact_phone']) IGNORE NULLS) OVER up_to_it,
       -- contacts are not compared: a new clerk is no contradiction
       struct_pack(status_text := last_value(status_text IGNORE NULLS) OVER before_it,
                   reply_date := last_value(reply_date IGNORE NULLS) OVER before_it,
                   result_class := last_value(result_class IGNORE NULLS) OVER before_it,
                   face_to_face := last_value(face_to_face IGNORE NULLS) OVER before_it,
                   evaluation := last_value(evaluation IGNORE NULLS) OVER before_it,
                   evaluation_work := last_value(evaluation_work IGNORE NULLS) OVER before_it,
                   evaluation_date := last_value(evaluation_date IGNORE NULLS) OVER before_it,
                   promise_text := last_value(promise_text IGNORE NULLS) OVER before_it,
                   promise_date := last_value(promise_date IGNORE NULLS) OVER before_it,
                   promise_kept := last_value(promise_kept IGNORE NULLS) OVER before_it,
                   promise_kept_date := last_value(promise_kept_date IGNORE NULLS) OVER before_it,
                   extension_date := last_value(extension_date IGNORE NULLS) OVER before_it)
           AS in_force_before
FROM (
    SELECT * FROM ux_in_file WHERE rank_in_file = 1
    UNION ALL BY NAME
    SELECT h.report_id AS earlier_report_id, h.suggestion_id, h.unit AS resolved_unit, h.role AS assigned_role,
           h.report_date, h.file_id, h.sheet, h.row_no, f.received_at, f.original_name, unnest(h.reported)
    FROM handling_reports h
    JOIN files f USING (file_id)
    WHERE EXISTS (SELECT 1 FROM ux_in_file n WHERE n.suggestion_id = h.suggestion_id AND n.resolved_unit = h.unit)
)
WINDOW pair AS (PARTITION BY suggestion_id, resolved_unit ORDER BY report_date, received_at, file_id),
       whole_pair AS (pair ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING),
       up_to_it AS (pair ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
       before_it AS (pair ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING);

-- The earlier rows' outcomes are written again below, with the new rows'.
DELETE FROM row_outcomes
USING ux_effective e
WHERE e.kept_earlier
  AND row_outcomes.file_id = e.file_id AND row_outcomes.row_no = e.row_no
  AND row_outcomes.sheet IS NOT DISTINCT FROM e.sheet;

DELETE FROM handling_reports
USING ux_effective e
WHERE e.report_id = handling_reports.report_id;

-- Every row was resolved to an assignment (resolve.sql) and carries its role.
INSERT INTO handling_reports
SELECT report_id, suggestion_id, resolved_unit, assigned_role, report_date, file_id, sheet, row_no,
       status_text, reply_date, result_class, face_to_face, evaluation, evaluation_work,
       evaluation_date, promise_text, promise_date, promise_kept, promise_kept_date,
       extension_date, contact_name, contact_phone, is_current, reported
FROM ux_effective;

-- The changes: each fact a report gives (as text) against the one in force before it.
DELETE FROM handling_changes
USING (SELECT DISTINCT suggestion_id, resolved_unit FROM ux_effective) p
WHERE handling_changes.suggestion_id = p.suggestion_id AND handling_changes.unit = p.resolved_unit;

INSERT INTO handling_changes
SELECT suggestion_id, resolved_unit, c.label, c.old, c.new, report_id, report_date, file_id, sheet, row_no
FROM (
    SELECT *, unnest([
        {'fact': 'status_text', 'label': '办理状态', 'old': b.status_text, 'new': r.status_text},
        {'fact': 'reply_date', 'label': '答复日期', 'old': CAST(b.reply_date AS VARCHAR), 'new': CAST(r.reply_date AS VARCHAR)},
        {'fact': 'result_class', 'label': '办理结果', 'old': b.result_class, 'new': r.result_class},
        {'fact': 'face_to_face', 'label': '是否面商',
         'old': CASE b.face_to_face WHEN TRUE THEN '是' WHEN FALSE THEN '否' END,
         'new': CASE r.face_to_face WHEN TRUE THEN '是' WHEN FALSE THEN '否' END},
        {'fact': 'evaluation', 'label': '代表意见', 'old': b.evaluation, 'new': r.evaluation},
        {'fact': 'evaluation_work', 'label': '办理工作满意度', 'old': b.evaluation_work, 'new': r.evaluation_work},
        {'fact': 'evaluation_date', 'label': '测评日期',
         'old': CAST(b.evaluation_date AS VARCHAR), 'new': CAST(r.evaluation_date AS VARCHAR)},
        {'fact': 'promise_text', 'label': '承诺事项', 'old': b.promise_text, 'new': r.promise_text},
        {'fact': 'promise_date', 'label': '承诺完成时限',
         'old': CAST(b.promise_date AS VARCHAR), 'new': CAST(r.promise_date AS VARCHAR)},
        {'fact': 'promise_kept', 'label': '是否兑现',
         'old': CASE b.promise_kept WHEN TRUE THEN '已兑现' WHEN FALSE THEN '未兑现' END,
         'new': CASE r.promise_kept WHEN TRUE THEN '已兑现' WHEN FALSE THEN '未兑现' END},
        {'fact': 'promise_kept_date', 'label': '兑现日期',
         'old': CAST(b.promise_kept_date AS VARCHAR), 'new': CAST(r.promise_kept_date AS VARCHAR)},
        {'fact': 'extension_date', 'label': '延期至',
         'old': CAST(b.extension_date AS VARCHAR), 'new': CAST(r.extension_date AS VARCHAR)}
    ]) AS c
    FROM (SELECT *, reported AS r, in_force_before AS b FROM ux_effective WHERE seq > 1)
)
WHERE c.new <> c.old
  AND CASE c.fact
          -- progress is no contradiction: only a status that moves back, a promise no longer kept
          WHEN 'status_text' THEN
              CASE WHEN c.new LIKE '%未%' THEN 0 WHEN regexp_matches(c.new, '办结|答复|报送') THEN 2 ELSE 1 END
              < CASE WHEN c.old LIKE '%未%' THEN 0 WHEN regexp_matches(c.old, '办结|答复|报送') THEN 2 ELSE 1 END
          WHEN 'promise_kept' THEN c.new = '未兑现'
          ELSE TRUE
      END;

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
FROM ux_effective;
