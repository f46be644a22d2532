-- Resolved evaluation-sheet rows (the congress's own 满意度测评) → congress_evaluations.
-- A row without a unit applies to every lead unit of its suggestion; identical repeats collapse to
-- the first, which may be one kept earlier (ev_resolved holds only the rows of the files this
-- build adds).

CREATE TEMP TABLE ev_unique AS
SELECT *,
       row_number() OVER (PARTITION BY suggestion_id, resolved_unit, reply_satisfaction,
                                       implementation_satisfaction, evaluation_date
                          ORDER BY file_id, row_no, sheet) = 1
       AND NOT EXISTS (SELECT 1 FROM congress_evaluations c
                       WHERE c.suggestion_id = e.suggestion_id AND c.unit = e.resolved_unit
                         AND c.reply_satisfaction IS NOT DISTINCT FROM e.reply_satisfaction
                         AND c.implementation_satisfaction IS NOT DISTINCT FROM e.implementation_satisfaction
                         AND c.evaluation_date IS NOT DISTINCT FROM e.evaluation_date) AS is_first
FROM ev_resolved e;

INSERT INTO congress_evaluations
SELECT suggestion_id, resolved_unit, reply_satisfaction, implementation_satisfaction, evaluation_date,
       file_id, sheet, row_no
FROM ev_unique
WHERE is_first;

-- One outcome per row, even when a unitless row applied to several leads.
INSERT INTO row_outcomes
SELECT file_id, sheet, row_no,
       CASE WHEN bool_or(is_first) THEN 'loaded' ELSE 'superseded' END, NULL, NULL,
       CASE WHEN bool_or(is_first) THEN NULL ELSE '第' || row_no || '行 与已载入的测评结果重复, 已合并' END
FROM ev_unique
GROUP BY file_id, sheet, row_no;
