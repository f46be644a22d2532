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
--                      the congress's latest evaluation <= T unless the unit reports a newer one, else the
--                      unit's own (满意 / 基本满意 / 不满意; source 人大测评 / 单位报送)
--   work_evaluation    办理工作 rating: the unit's own in the selected row, dated like evaluation
--   implementation_evaluation  落实 rating: the congress's latest dated <= T
--   extension_date     延期 date of the selected row
--   has_promise, promise_due, promise_text, promise_date, promise_kept_date, promise_kept
--                      B-class promises: promise_date is P, the date as FIRST reported; due when
--                      P < T; kept by P (or undated); promise_kept_late: fulfilled after P
--   promise_revisions  other promised dates reported by T (revisions: listed, never judged by);
--                      promise_revised: any
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
), ced AS (
    SELECT e.*, COALESCE(e.evaluation_date, f.report_date, CAST(f.received_at AS DATE)) AS d
    FROM congress_evaluations e LEFT JOIN files f USING (file_id)
), ce AS (
    SELECT suggestion_id, unit,
           arg_max(reply_satisfaction, (d, file_id, row_no))
               FILTER (WHERE reply_satisfaction IN ('满意', '基本满意', '不满意')) AS ev,
           max(d) FILTER (WHERE reply_satisfaction IN ('满意', '基本满意', '不满意')) AS ev_date,
           arg_max(implementation_satisfaction, (d, file_id, row_no))
               FILTER (WHERE implementation_satisfaction IN ('满意', '基本满意', '不满意')) AS impl_ev
    FROM ced WHERE d <= {T}
    GROUP BY ALL
), prom AS (
    -- P: the promised date as first reported (a unit's reports carry it forward; a later one that
    -- gives another date revises it, which is listed but never moves P).
    SELECT suggestion_id, unit,
           arg_min(promise_date, (report_date, report_id)) FILTER (WHERE promise_date IS NOT NULL) AS first_date
    FROM handling_reports GROUP BY ALL HAVING first_date IS NOT NULL
), rev AS (
    SELECT h.suggestion_id, h.unit, count(DISTINCT h.promise_date) AS revisions
    FROM handling_reports h JOIN prom USING (suggestion_id, unit)
    WHERE h.report_date <= {T} AND h.promise_date <> prom.first_date GROUP BY ALL
), x AS (
    SELECT a.suggestion_id, a.unit, a.role, a.is_lead, sel.report_id,
           sel.last_report_date, h.report_date AS row_report_date,
           CASE WHEN h.reply_date <= {T} THEN h.reply_date END AS reply_date,
           h.result_class AS row_class, h.face_to_face AS row_face,
           h.evaluation AS row_eval, COALESCE(h.evaluation_date, h.reply_date, h.report_date) AS row_eval_date,
           h.evaluation_work AS row_work_eval,
           ce.ev AS congress_eval, ce.ev_date AS congress_eval_date, ce.impl_ev,
           h.extension_date, h.promise_text, COALESCE(prom.first_date, h.promise_date) AS promise_date,
           COALESCE(rev.revisions, 0) AS promise_revisions, h.promise_kept, h.promise_kept_date
    FROM assignments a
    LEFT JOIN sel USING (suggestion_id, unit)
    LEFT JOIN handling_reports h ON h.report_id = sel.report_id
    LEFT JOIN ce USING (suggestion_id, unit)
    LEFT JOIN prom USING (suggestion_id, unit)
    LEFT JOIN rev USING (suggestion_id, unit)
), y AS (
    -- The unit's own result rating's date when it counts as of T: a newer rating than the
    -- congress's replaces it (after a 重办); a re-reply alone does not (domain.md, 重办).
    SELECT *, CASE WHEN row_eval IN ('满意', '基本满意', '不满意') AND row_eval_date <= {T} THEN row_eval_date END
                  AS own_eval_date
    FROM x
)
SELECT suggestion_id, unit, role, is_lead, report_id, last_report_date, row_report_date,
       last_report_date IS NOT NULL AS reported,
       reply_date,
       CASE WHEN reply_date IS NOT NULL THEN row_class END AS result_class,
       CASE WHEN reply_date IS NOT NULL OR row_report_date <= {T} THEN row_face END AS face_to_face,
       CASE WHEN congress_eval IS NOT NULL AND (own_eval_date IS NULL OR congress_eval_date >= own_eval_date)
                 THEN congress_eval
            WHEN row_eval IN ('满意', '基本满意', '不满意') AND row_eval_date <= {T} THEN row_eval END AS evaluation,
       CASE WHEN congress_eval IS NOT NULL AND (own_eval_date IS NULL OR congress_eval_date >= own_eval_date)
                 THEN congress_eval_date
            WHEN row_eval IN ('满意', '基本满意', '不满意') AND row_eval_date <= {T} THEN row_eval_date END
           AS evaluation_date,
       CASE WHEN congress_eval IS NOT NULL AND (own_eval_date IS NULL OR congress_eval_date >= own_eval_date)
                 THEN '人大测评'
            WHEN row_eval IN ('满意', '基本满意', '不满意') AND row_eval_date <= {T} THEN '单位报送' END
           AS evaluation_source,
       CASE WHEN row_work_eval IN ('满意', '基本满意', '不满意') AND row_eval_date <= {T} THEN row_work_eval END
           AS work_evaluation,
       impl_ev AS implementation_evaluation,
       extension_date,
       reply_date IS NOT NULL AND row_class = 'B' AND promise_date IS NOT NULL AS has_promise,
       COALESCE(reply_date IS NOT NULL AND row_class = 'B' AND promise_date < {T}, false) AS promise_due,
       promise_text, promise_date, promise_kept_date, promise_revisions, promise_revisions > 0 AS promise_revised,
       COALESCE(promise_kept, false)
           AND (promise_kept_date IS NULL OR promise_kept_date <= promise_date) AS promise_kept,
       COALESCE(promise_kept AND promise_kept_date > promise_date AND promise_kept_date <= {T}, false)
           AS promise_kept_late
FROM y
