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
-- the next report_ids).
CREATE TEMP TABLE ux_history AS
SELECT *,
       row_number() OVER w = 1 AS is_current,
       first_value(report_date) OVER w AS newest_date,
       first_value(original_name) OVER w AS newest_name,
       row_number() OVER (PARTITION BY suggestion_id, resolved_unit
                          ORDER BY report_date, received_at, file_id) AS seq
FROM (
    SELECT * FROM ux_in_file WHERE rank_in_file = 1
    UNION ALL BY NAME
    SELECT h.report_id, h.suggestion_id, h.unit AS resolved_unit, h.report_date, h.file_id, h.sheet, h.row_no,
           f.received_at, f.original_name, unnest(h.reported)
    FROM handling_reports h
    JOIN files f USING (file_id)
    WHERE EXISTS (SELECT 1 FROM ux_in_file n WHERE n.suggestion_id = h.suggestion_id AND n.resolved_unit = h.unit)
)
WINDOW w AS (PARTITION BY suggestion_id, resolved_unit ORDER BY report_date DESC, received_at DESC, file_id DESC);

-- Each report's facts in force after it: the newest non-blank value up to it.
CREATE TEMP TABLE ux_effective AS
SELECT coalesce(report_id, (SELECT coalesce(max(report_id), 0) FROM handling_reports)
                           + row_number() OVER (PARTITION BY report_id IS NULL ORDER BY file_id, sheet, row_no))
           AS report_id,
       suggestion_id, resolved_unit, report_date, file_id, sheet, row_no, seq, is_current,
       struct_pack(status_text, reply_date, result_class, face_to_face, evaluation, evaluation_work,
                   evaluation_date, promise_text, promise_date, promise_kept, promise_kept_date,
                   extension_date, contact_name, contact_phone) AS reported,
       last_value(COLUMNS(['status_text', 'reply_date', 'result_class', 'face_to_face', 'evaluation',
                           'evaluation_work', 'evaluation_date', 'promise_text', 'promise_date',
                           'promise_kept', 'promise_kept_date', 'extension_date', 'contact_name',
                           'contact_phone']) IGNORE NULLS)
           OVER (PARTITION BY suggestion_id, resolved_unit ORDER BY seq)
FROM ux_history;

-- The earlier rows' outcomes are written again below, with the new rows'.
DELETE FROM row_outcomes
USING ux_history h
WHERE h.report_id IS NOT NULL
  AND row_outcomes.file_id = h.file_id AND row_outcomes.row_no = h.row_no
  AND row_outcomes.sheet IS NOT DISTINCT FROM h.sheet;

DELETE FROM handling_reports
USING ux_effective e
WHERE e.report_id = handling_reports.report_id;

INSERT INTO handling_reports
SELECT e.report_id, e.suggestion_id, e.resolved_unit, a.role, e.report_date, e.file_id, e.sheet, e.row_no,
       e.status_text, e.reply_date, e.result_class, e.face_to_face, e.evaluation, e.evaluation_work,
       e.evaluation_date, e.promise_text, e.promise_date, e.promise_kept, e.promise_kept_date,
       e.extension_date, e.contact_name, e.contact_phone, e.is_current, e.reported
FROM ux_effective e
JOIN assignments a ON a.suggestion_id = e.suggestion_id AND a.unit = e.resolved_unit;

-- The changes: each fact a report gives (as text) against the one in force before it.
CREATE TEMP TABLE ux_facts_as_text AS
SELECT report_id, suggestion_id, resolved_unit, seq,
       CAST(COLUMNS(['status_text', 'reply_date', 'result_class', 'evaluation', 'evaluation_work',
                     'evaluation_date', 'promise_text', 'promise_date', 'promise_kept_date',
                     'extension_date']) AS VARCHAR),
       CASE face_to_face WHEN TRUE THEN '是' WHEN FALSE THEN '否' END AS face_to_face,
       CASE promise_kept WHEN TRUE THEN '已兑现' WHEN FALSE THEN '未兑现' END AS promise_kept,
       version
FROM (
    SELECT report_id, suggestion_id, resolved_unit, seq, unnest(reported), 'reported' AS version FROM ux_effective
    UNION ALL BY NAME
    SELECT * EXCLUDE (reported), 'in_force' AS version FROM ux_effective
);

CREATE TEMP TABLE ux_facts_long AS
UNPIVOT ux_facts_as_text
ON status_text, reply_date, result_class, face_to_face, evaluation, evaluation_work, evaluation_date,
   promise_text, promise_date, promise_kept, promise_kept_date, extension_date
INTO NAME fact VALUE value;

DELETE FROM handling_changes
USING (SELECT DISTINCT suggestion_id, resolved_unit FROM ux_effective) p
WHERE handling_changes.suggestion_id = p.suggestion_id AND handling_changes.unit = p.resolved_unit;

INSERT INTO handling_changes
SELECT n.suggestion_id, n.resolved_unit, l.label, o.value, n.value, n.report_id, e.report_date, e.file_id,
       e.sheet, e.row_no
FROM ux_facts_long n
JOIN ux_facts_long o
  ON o.version = 'in_force' AND o.suggestion_id = n.suggestion_id AND o.resolved_unit = n.resolved_unit
 AND o.seq = n.seq - 1 AND o.fact = n.fact
JOIN ux_effective e ON e.report_id = n.report_id
JOIN (VALUES ('status_text', '办理状态'), ('reply_date', '答复日期'), ('result_class', '办理结果'),
             ('face_to_face', '是否面商'), ('evaluation', '代表意见'), ('evaluation_work', '办理工作满意度'),
             ('evaluation_date', '测评日期'), ('promise_text', '承诺事项'), ('promise_date', '承诺完成时限'),
             ('promise_kept', '是否兑现'), ('promise_kept_date', '兑现日期'), ('extension_date', '延期至'))
     l(fact, label) ON l.fact = n.fact
WHERE n.version = 'reported' AND n.value <> o.value
  AND CASE n.fact
          -- progress is no contradiction: only a status that moves back, a promise no longer kept
          WHEN 'status_text' THEN
              CASE WHEN n.value LIKE '%未%' THEN 0 WHEN regexp_matches(n.value, '办结|答复|报送') THEN 2 ELSE 1 END
              < CASE WHEN o.value LIKE '%未%' THEN 0 WHEN regexp_matches(o.value, '办结|答复|报送') THEN 2 ELSE 1 END
          WHEN 'promise_kept' THEN n.value = '未兑现'
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
FROM ux_history;
