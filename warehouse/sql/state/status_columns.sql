-- status_columns: the select-list of the derived status columns, shared by sug and asg.
-- Placeholders: {T} the date as of which; {soon} due_soon_days; {done} whether the item is done;
-- {reply} its (last) reply date; {deadline} its deadline.
-- Columns:
--   overdue           not done and deadline < T
--   days_overdue      T − deadline, when overdue
--   due_soon          not done and 0 <= deadline − T <= soon
--   days_to_deadline  deadline − T, when not done
--   on_time           done with the reply <= deadline (no deadline: on time)
--   status            已办结 / 逾期 / 临期 / 在办
COALESCE(NOT {done} AND {deadline} < {T}, false) AS overdue,
CASE WHEN NOT {done} AND {deadline} < {T} THEN -date_diff('day', {T}, {deadline}) END AS days_overdue,
COALESCE(NOT {done} AND date_diff('day', {T}, {deadline}) BETWEEN 0 AND {soon}, false) AS due_soon,
CASE WHEN NOT {done} THEN date_diff('day', {T}, {deadline}) END AS days_to_deadline,
{done} AND COALESCE({reply} <= {deadline}, true) AS on_time,
CASE WHEN {done} THEN '已办结' WHEN {deadline} < {T} THEN '逾期'
     WHEN date_diff('day', {T}, {deadline}) <= {soon} THEN '临期' ELSE '在办' END AS status
