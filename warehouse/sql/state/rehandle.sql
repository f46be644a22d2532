-- rehandle: the 重办 (re-handling) of every lead assignment rated 不满意 by T (docs/domain.md, 重办).
-- Reads handling_reports, congress_evaluations, files, assignments and {sug} (this state's suggestions).
-- Placeholders: {T}; {rehandle_days} (setting [followup]); {sug}.
-- Columns:
--   suggestion_id, unit, year, session, kind, category, is_key   the lead assignment and its scope
--   opened            重办 opened by T: the lead's distinct 不满意 result ratings dated <= T
--   unsatisfied_date  d: its latest 不满意 (the 重办 counted)
--   due_date          d + rehandle_days
--   rereply_date      the first lead reply dated after d (<= T)
--   rated_date        the first 满意 / 基本满意 dated after d (<= T)
--   state             转为满意 / 已重新答复 / 重办逾期 (no re-reply, due_date < T) / 重办中
--   days_overdue      T − due_date while 重办逾期
WITH own AS (
    -- A unit's reports carry its rating forward: a rating is new where (rating, date) changes.
    SELECT suggestion_id, unit, evaluation AS rating, COALESCE(evaluation_date, reply_date, report_date) AS d,
           lag(evaluation) OVER w AS prev_rating,
           lag(COALESCE(evaluation_date, reply_date, report_date)) OVER w AS prev_d
    FROM handling_reports
    WINDOW w AS (PARTITION BY suggestion_id, unit ORDER BY report_date, report_id)
), rated AS (
    SELECT suggestion_id, unit, rating, d FROM own
    WHERE rating IN ('满意', '基本满意', '不满意') AND d <= {T}
      AND (prev_rating IS DISTINCT FROM rating OR prev_d IS DISTINCT FROM d)
    UNION
    SELECT e.suggestion_id, e.unit, e.reply_satisfaction,
           COALESCE(e.evaluation_date, f.report_date, CAST(f.received_at AS DATE))
    FROM congress_evaluations e LEFT JOIN files f USING (file_id)
    WHERE e.reply_satisfaction IN ('满意', '基本满意', '不满意')
      AND COALESCE(e.evaluation_date, f.report_date, CAST(f.received_at AS DATE)) <= {T}
), un AS (
    SELECT suggestion_id, unit, count(DISTINCT d) AS opened, max(d) AS unsatisfied_date
    FROM rated JOIN assignments USING (suggestion_id, unit)
    WHERE rating = '不满意' AND is_lead GROUP BY ALL
), after AS (
    SELECT un.*, CAST(un.unsatisfied_date + {rehandle_days} AS DATE) AS due_date,
           (SELECT min(h.reply_date) FROM handling_reports h
            WHERE h.suggestion_id = un.suggestion_id AND h.unit = un.unit
              AND h.reply_date > un.unsatisfied_date AND h.reply_date <= {T}) AS rereply_date,
           (SELECT min(r.d) FROM rated r
            WHERE r.suggestion_id = un.suggestion_id AND r.unit = un.unit
              AND r.rating IN ('满意', '基本满意') AND r.d > un.unsatisfied_date) AS rated_date
    FROM un
)
SELECT a.suggestion_id, a.unit, s.year, s.session, s.kind, s.category, s.is_key,
       a.opened, a.unsatisfied_date, a.due_date, a.rereply_date, a.rated_date,
       CASE WHEN a.rated_date IS NOT NULL THEN '转为满意' WHEN a.rereply_date IS NOT NULL THEN '已重新答复'
            WHEN a.due_date < {T} THEN '重办逾期' ELSE '重办中' END AS state,
       CASE WHEN a.rated_date IS NULL AND a.rereply_date IS NULL AND a.due_date < {T}
            THEN date_diff('day', a.due_date, {T}) END AS days_overdue
FROM after a JOIN {sug} s USING (suggestion_id)
