-- The state's cubes, built after sug and asg into {target} (one statement each):
--   sug_cube        suggestions counted (n) per combination of the scope columns ({scope_columns}),
--                   source and what the headline counts test ({sug_flags}): a few thousand rows a
--                   year instead of 50,000; the mixes and headline counts sum n over it.
--   unit_cube       assignments counted (n) the same way per unit, is_lead and {unit_flags}, with
--                   max(last_report_date): the unit table reads it (~8× fewer rows than asg).
--   headline        the headline counts ({headline_counts}) for every combination of scope
--                   filters (GROUP BY CUBE); grouped = GROUPING()'s bit mask of the columns not
--                   filtered on: a scope without a unit looks its counts up.
--   headline_leads  the B-promise counts ({promise_counts}) over lead assignments, the same way.
CREATE TABLE {target}.sug_cube AS
    SELECT {scope_columns}, source, {sug_flags}, count(*) AS n FROM {target}.sug
    GROUP BY ALL ORDER BY year, kind, category;
CREATE TABLE {target}.unit_cube AS
    SELECT {scope_columns}, unit, is_lead, {sug_flags}, {unit_flags}, count(*) AS n,
           max(last_report_date) AS last_report_date
    FROM {target}.asg GROUP BY ALL ORDER BY year, unit;
CREATE TABLE {target}.headline AS
    SELECT {scope_columns}, GROUPING({scope_columns}) AS grouped, {headline_counts}
    FROM {target}.sug_cube GROUP BY CUBE ({scope_columns}) ORDER BY grouped, year;
CREATE TABLE {target}.headline_leads AS
    SELECT {scope_columns}, GROUPING({scope_columns}) AS grouped, {promise_counts}
    FROM {target}.asg WHERE is_lead GROUP BY CUBE ({scope_columns}) ORDER BY grouped, year;
