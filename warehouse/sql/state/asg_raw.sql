-- asg_raw: every assignment with its selected export row and the facts dated <= T
-- (docs/indicators.md, "Status history" and "Evaluation"). One row per (suggestion_id, unit).
-- Placeholders: {T} the date as of which (a DATE literal).
-- Columns:
--   suggestion_id, unit, role, is_lead   the assignment (交办台账)
--   report_id          the selected row: the newest with report_date <= T, else the earliest later one
--   last_report_date   newest report_date <= T (NULL: 未报送 as of T)
--   row_report_date    report_date of the selected row
--   reported           last_report_date IS NOT NULL
--   reply_date         the selected row's reply date when <= T
--   result_class       A–D, once replied
--   face_to_face       面商, from a row dated <= T or once replied
--   evaluation, evaluation_date, evaluation_source
--                      the congress's latest evaluation <= T (not older than the reply), else the
--                      unit's own (满意 / 基本满意 / 不满意; source 人大测评 / 单位报送)
--   extension_date     延期 date of the selected row
--   has_promise, promise_due, promise_text, promise_date, promise_kept_date, promise_kept
--                      B-class promises: due when promise_date < T; kept by their date
WITH sel AS (
    -- Key: any row <= T beats every later row; among rows <= T the newest, among later ones
    -- the earliest; ties by the higher report_id. One BIGINT key keeps arg_max cheap.
    SELECT suggestion_id, unit,
           arg_max(report_id, (CASE WHEN report_date <= {T}
                                    THEN 1000000 + date_diff('day', DATE '2000-01-01', report_date)
                                    ELSE -date_diff('day', DATE '2000-01-01', report_date) END)
                              * 4294967296 + report_id) AS report_id,
           max(report_date) FILTER (WHERE report_date <= {T}) AS last_report_date
    FROM handling_reports GROUP BY ALL
), ce AS (
    SELECT e.suggestion_id, e.unit,
           arg_max(e.reply_satisfaction, (COALESCE(e.evaluation_date, f.report_date, CAST(f.received_at AS DATE)),
                                          e.file_id, e.row_no)) AS ev,
           max(COALESCE(e.evaluation_date, f.report_date, CAST(f.received_at AS DATE))) AS ev_date
    FROM congress_evaluations e LEFT JOIN files f USING (file_id)
    WHERE e.reply_satisfaction IN ('满意', '基本满意', '不满意')
      AND COALESCE(e.evaluation_date, f.report_date, CAST(f.received_at AS DATE)) <= {T}
    GROUP BY ALL
), x AS (
    SELECT a.suggestion_id, a.unit, a.role, a.is_lead, sel.report_id,
           sel.last_report_date, h.report_date AS row_report_date,
           CASE WHEN h.reply_date <= {T} THEN h.reply_date END AS reply_date,
           h.result_class AS row_class, h.face_to_face AS row_face,
           h.evaluation AS row_eval, COALESCE(h.evaluation_date, h.reply_date, h.report_date) AS row_eval_date,
           ce.ev AS congress_eval, ce.ev_date AS congress_eval_date,
           h.extension_date, h.promise_text, h.promise_date, h.promise_kept, h.promise_kept_date
    FROM assignments a
    LEFT JOIN sel USING (suggestion_id, unit)
    LEFT JOIN handling_reports h ON h.report_id = sel.report_id
    LEFT JOIN ce USING (suggestion_id, unit)
)
SELECT suggestion_id, unit, role, is_lead, report_id, last_report_date, row_report_date,
       last_report_date IS NOT NULL AS reported,
       reply_date,
       CASE WHEN reply_date IS NOT NULL THEN row_class END AS result_class,
       CASE WHEN reply_date IS NOT NULL OR row_report_date <= {T} THEN row_face END AS face_to_face,
       CASE WHEN congress_eval IS NOT NULL AND (reply_date IS NULL OR congress_eval_date >= reply_date)
                 THEN congress_eval
            WHEN row_eval IN ('满意', '基本满意', '不满意') AND row_eval_date <= {T} THEN row_eval END AS evaluation,
       CASE WHEN congress_eval IS NOT NULL AND (reply_date IS NULL OR congress_eval_date >= reply_date)
                 THEN congress_eval_date
            WHEN row_eval IN ('满意', '基本满意', '不满意') AND row_eval_date <= {T} THEN row_eval_date END
           AS evaluation_date,
       CASE WHEN congress_eval IS NOT NULL AND (reply_date IS NULL OR congress_eval_date >= reply_date)
                 THEN '人大测评'
            WHEN row_eval IN ('满意', '基本满意', '不满意') AND row_eval_date <= {T} THEN '单位报送' END
           AS evaluation_source,
       extension_date,
       reply_date IS NOT NULL AND row_class = 'B' AND promise_date IS NOT NULL AS has_promise,
       COALESCE(reply_date IS NOT NULL AND row_class = 'B' AND promise_date < {T}, false) AS promise_due,
       promise_text, promise_date, promise_kept_date,
       COALESCE(promise_kept, false)
           AND (promise_kept_date IS NULL OR promise_kept_date <= promise_date) AS promise_kept
FROM x
