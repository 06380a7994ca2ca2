#!/usr/bin/env bash
# Fill a vizier metadata store with a benchmark-sized catalog: 500 datasets, CHARTS charts
# (default 10,000), 1,000 dashboards (10 charts each), on top of the example data. Run after
# `vizier serve` (or `vizier migrate`) has created the store.
#   benches/seed-catalog.sh sqlite data/vizier.db [CHARTS]
#   benches/seed-catalog.sh postgres postgres://postgres@127.0.0.1:5432/vizier_bench [CHARTS]
set -euo pipefail
backend=$1; target=$2; charts=${3:-10000}
[[ $charts =~ ^[0-9]+$ ]] || { echo "CHARTS must be a number, got '$charts'" >&2; exit 2; }

sqlite_sql=$(cat <<'SQL'
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
INSERT INTO datasets (uuid, database_id, table_name, description, extra, created_on, changed_on, created_by_fk, changed_by_fk)
SELECT lower(hex(randomblob(16))), 1, 'bench_table_' || i, 'Benchmark dataset ' || i, '{}',
       datetime('now', '-' || i || ' minutes'), datetime('now', '-' || i || ' minutes'), 1, 1 FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < @CHARTS@)
INSERT INTO charts (uuid, name, chart_type, dataset_id, config, description, created_on, changed_on, created_by_fk, changed_by_fk)
SELECT lower(hex(randomblob(16))),
       (CASE i % 5 WHEN 0 THEN 'Revenue' WHEN 1 THEN 'Orders' WHEN 2 THEN 'Margin' WHEN 3 THEN 'Customers' ELSE 'Returns' END)
         || ' by ' || (CASE i % 7 WHEN 0 THEN 'region' WHEN 1 THEN 'category' WHEN 2 THEN 'store' WHEN 3 THEN 'month'
                         WHEN 4 THEN 'channel' WHEN 5 THEN 'segment' ELSE 'product' END) || ' #' || i,
       CASE i % 4 WHEN 0 THEN 'xy' WHEN 1 THEN 'pie' WHEN 2 THEN 'table' ELSE 'big_number' END,
       (SELECT min(id) FROM datasets WHERE table_name LIKE 'bench\_table\_%' ESCAPE '\') + (i % 500),
       '{"chart_type":"xy","kind":"line","x":"order_date","metrics":[{"saved_metric":"revenue"}]}',
       'Benchmark chart number ' || i,
       datetime('now', '-' || i || ' seconds'), datetime('now', '-' || i || ' seconds'), 1, 1 FROM n;
INSERT INTO chart_owners (chart_id, user_id) SELECT id, 1 FROM charts WHERE id NOT IN (SELECT chart_id FROM chart_owners);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
INSERT INTO dashboards (uuid, title, slug, description, published, layout, json_metadata, version, created_on, changed_on, created_by_fk, changed_by_fk)
SELECT lower(hex(randomblob(16))), 'Bench dashboard ' || i, 'bench-' || i, 'Benchmark dashboard ' || i, i % 2,
       '{}', '{}', 1, datetime('now'), datetime('now'), 1, 1 FROM n;
INSERT INTO dashboard_charts (dashboard_id, chart_id)
SELECT d.id, c.id FROM dashboards d JOIN charts c ON c.id % 1000 = d.id % 1000 AND c.id > 7
WHERE d.slug LIKE 'bench-%' AND c.id < 10000;
COMMIT;
SQL
)

pg_sql=$(cat <<'SQL'
BEGIN;
INSERT INTO datasets (uuid, database_id, table_name, description, extra, created_on, changed_on, created_by_fk, changed_by_fk)
SELECT md5(random()::text || i), 1, 'bench_table_' || i, 'Benchmark dataset ' || i, '{}',
       now() - i * interval '1 minute', now() - i * interval '1 minute', 1, 1 FROM generate_series(1, 500) i;
INSERT INTO charts (uuid, name, chart_type, dataset_id, config, description, created_on, changed_on, created_by_fk, changed_by_fk)
SELECT md5(random()::text || i),
       (ARRAY['Revenue','Orders','Margin','Customers','Returns'])[i % 5 + 1] || ' by ' ||
       (ARRAY['region','category','store','month','channel','segment','product'])[i % 7 + 1] || ' #' || i,
       (ARRAY['xy','pie','table','big_number'])[i % 4 + 1],
       (SELECT min(id) FROM datasets WHERE table_name LIKE 'bench\_table\_%') + (i % 500),
       '{"chart_type":"xy","kind":"line","x":"order_date","metrics":[{"saved_metric":"revenue"}]}',
       'Benchmark chart number ' || i,
       now() - i * interval '1 second', now() - i * interval '1 second', 1, 1 FROM generate_series(1, @CHARTS@) i;
INSERT INTO chart_owners (chart_id, user_id) SELECT id, 1 FROM charts ON CONFLICT DO NOTHING;
INSERT INTO dashboards (uuid, title, slug, description, published, layout, json_metadata, version, created_on, changed_on, created_by_fk, changed_by_fk)
SELECT md5(random()::text || i), 'Bench dashboard ' || i, 'bench-' || i, 'Benchmark dashboard ' || i, i % 2 = 0,
       '{}', '{}', 1, now(), now(), 1, 1 FROM generate_series(1, 1000) i;
INSERT INTO dashboard_charts (dashboard_id, chart_id)
SELECT d.id, c.id FROM dashboards d JOIN charts c ON c.id % 1000 = d.id % 1000 AND c.id > 7
WHERE d.slug LIKE 'bench-%' AND c.id < 10000;
ANALYZE;
COMMIT;
SQL
)

case "$backend" in
  sqlite) printf '%s\n' "${sqlite_sql//@CHARTS@/$charts}" | sqlite3 -bail "$target"; sqlite3 "$target" 'ANALYZE;' ;;
  postgres) printf '%s\n' "${pg_sql//@CHARTS@/$charts}" | psql -q -v ON_ERROR_STOP=1 "$target" ;;
  *) echo "usage: $0 sqlite|postgres TARGET" >&2; exit 2 ;;
esac
echo "seeded $backend: $(case "$backend" in
  sqlite) sqlite3 "$target" 'SELECT (SELECT count(*) FROM charts) || " charts, " || (SELECT count(*) FROM dashboards) || " dashboards, " || (SELECT count(*) FROM datasets) || " datasets"' ;;
  postgres) psql -tA "$target" -c "SELECT (SELECT count(*) FROM charts) || ' charts, ' || (SELECT count(*) FROM dashboards) || ' dashboards, ' || (SELECT count(*) FROM datasets) || ' datasets'" ;;
esac)"
