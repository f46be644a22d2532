-- asg: every assignment of a suggestion in sug, judged on its own row against the suggestion's
-- deadline (unit scope, the unit table). Reads _asg_raw (asg_raw.sql) and _sug (sug.sql).
-- Placeholders: {T}; {co_handling_months}; {status_columns} (status_columns.sql).
-- Columns:
--   every column of asg_raw.sql
--   session, year, number, kind, category, source, assigned_date, is_key, deadline   its suggestion's
--   co_window_end      assigned_date + co_handling_months (协办 window)
--   completed          this unit replied by T;  face: replied with 面商;  last_reply: its reply date
--   overdue, days_overdue, due_soon, days_to_deadline, on_time, status   (status_columns.sql)
--   co_due             a co assignment whose window ended by T or that gave its opinion
--   co_on_time         a co assignment that replied within its window
WITH j AS (
    SELECT a.*, a.reply_date IS NOT NULL AS done,
           s.session, s.year, s.number, s.kind, s.category, s.source, s.assigned_date,
           s.is_key, s.deadline,
           CAST(s.assigned_date + INTERVAL {co_handling_months} MONTH AS DATE) AS co_window_end
    FROM _asg_raw a JOIN _sug s USING (suggestion_id)
)
SELECT * EXCLUDE (done), done AS completed, done AND COALESCE(face_to_face, false) AS face,
       reply_date AS last_reply,
       {status_columns},
       NOT is_lead AND (co_window_end < {T} OR reply_date IS NOT NULL) AS co_due,
       NOT is_lead AND COALESCE(reply_date <= co_window_end, false) AS co_on_time
FROM j
