-- sug: every suggestion assigned by T with its state as of T (docs/indicators.md: Deadline,
-- Completed, Overdue, 面商, Class, Evaluation). Reads _asg_raw (asg_raw.sql).
-- Placeholders: {T}; {rule_deadline} and {start} the deadline rule's date and its start (from
-- the [deadline] settings); {max_extension_months}; {status_columns} (status_columns.sql);
-- {worst_evaluation}, {worst_work_evaluation}, {worst_implementation_evaluation}: the worst lead rating of each.
-- Columns:
--   suggestion_id, session, year, number, kind, title, category, source, assigned_date,
--   register_deadline, is_key, key_leader, key_committee, key_project   from the register
--   base_deadline      register deadline, else the rule's
--   extension_cap      the latest an extension may move it to
--   lead_count, lead_units, co_units                          its lead (主办/分办) and co units
--   completed          every lead replied by T (no lead: never)
--   extension_date     the leads' latest extension
--   last_reply, result_class, evaluation   when completed: last lead reply, worst class, worst evaluation
--   work_evaluation, implementation_evaluation   when completed: the worst lead rating of each
--   face               completed and every lead reports 面商
--   deadline           base_deadline moved by an extension, capped
--   overdue, days_overdue, due_soon, days_to_deadline, on_time, status   (status_columns.sql)
WITH lead AS (
    SELECT suggestion_id, count(*) AS lead_count, count(reply_date) AS lead_replied,
           max(reply_date) AS last_reply, max(extension_date) AS extension_date,
           CASE WHEN count(result_class) = count(*) THEN max(result_class) END AS result_class,
           bool_and(COALESCE(face_to_face, false)) AS face_all,
           {worst_evaluation},
           {worst_work_evaluation},
           {worst_implementation_evaluation},
           array_to_string(list_sort(list(unit)), '、') AS lead_units
    FROM _asg_raw WHERE is_lead GROUP BY 1
), co AS (
    SELECT suggestion_id, array_to_string(list_sort(list(unit)), '、') AS co_units
    FROM _asg_raw WHERE NOT is_lead GROUP BY 1
), base AS (
    SELECT s.suggestion_id, s.session, s.year, s.number, s.kind, s.title, s.category, s.source,
           s.assigned_date, s.register_deadline,
           s.is_key, s.key_leader, s.key_committee, s.key_project,
           COALESCE(s.register_deadline, {rule_deadline}) AS base_deadline,
           CAST(CASE WHEN s.register_deadline IS NOT NULL THEN s.assigned_date ELSE {start} END
                + INTERVAL {max_extension_months} MONTH AS DATE) AS extension_cap,
           COALESCE(lead.lead_count, 0) AS lead_count, lead.lead_units, co.co_units,
           COALESCE(lead.lead_count, 0) > 0 AND lead.lead_replied = lead.lead_count AS completed,
           lead.last_reply, lead.extension_date, lead.result_class, lead.face_all, lead.evaluation,
           lead.work_evaluation, lead.implementation_evaluation
    FROM suggestions s
    LEFT JOIN sessions se USING (session)
    LEFT JOIN lead USING (suggestion_id)
    LEFT JOIN co USING (suggestion_id)
    WHERE s.assigned_date IS NULL OR s.assigned_date <= {T}
), dl AS (
    SELECT * EXCLUDE (face_all, last_reply, result_class, evaluation, work_evaluation, implementation_evaluation),
           CASE WHEN completed THEN last_reply END AS last_reply,
           CASE WHEN completed THEN result_class END AS result_class,
           CASE WHEN completed THEN evaluation END AS evaluation,
           CASE WHEN completed THEN work_evaluation END AS work_evaluation,
           CASE WHEN completed THEN implementation_evaluation END AS implementation_evaluation,
           completed AND face_all AS face,
           CASE WHEN extension_date > base_deadline
                THEN GREATEST(base_deadline, LEAST(extension_date, COALESCE(extension_cap, extension_date)))
                ELSE base_deadline END AS deadline
    FROM base
)
SELECT *, {status_columns}
FROM dl
