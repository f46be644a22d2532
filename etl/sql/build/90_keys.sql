-- The keys of the big tables, which the build keeps by construction. They are checked here, not
-- declared as PRIMARY KEYs: DuckDB keeps a key's index in memory, never spilled, and at 10M
-- assignments those indexes alone outgrew the build's memory limit. A broken key stops the build.

SELECT error('duplicate key in suggestions: ' || suggestion_id)
FROM suggestions GROUP BY suggestion_id HAVING count(*) > 1 LIMIT 1;

SELECT error('duplicate key in assignments: ' || suggestion_id || ' ' || unit)
FROM assignments GROUP BY suggestion_id, unit HAVING count(*) > 1 LIMIT 1;

SELECT error('duplicate key in handling_reports: ' || report_id)
FROM handling_reports GROUP BY report_id HAVING count(*) > 1 LIMIT 1;
