-- Resolved evaluation-sheet rows (the congress's own 满意度测评) → congress_evaluations.
-- A row without a unit applies to every lead unit of its suggestion; identical repeats collapse.

CREATE TEMP TABLE ev_unique AS
SELECT *,
       row_number() OVER (PARTITION BY suggestion_id, resolved_unit, reply_satisfaction,
                                       implementation_satisfaction, evaluation_date
                          ORDER BY file_id, row_no, sheet) AS rank_in_key
FROM ev_resolved;

INSERT INTO congress_evaluations
SELECT suggestion_id, resolved_unit, reply_satisfaction, implementation_satisfaction, evaluation_date,
       file_id, sheet, row_no
FROM ev_unique
WHERE rank_in_key = 1;

-- One outcome per row, even when a unitless row applied to several leads.
INSERT INTO row_outcomes
SELECT file_id, sheet, row_no,
       CASE WHEN bool_or(rank_in_key = 1) THEN 'loaded' ELSE 'superseded' END, NULL, NULL,
       CASE WHEN bool_or(rank_in_key = 1) THEN NULL ELSE '第' || row_no || '行 与已载入的测评结果重复, 已合并' END
FROM ev_unique
GROUP BY file_id, sheet, row_no;
