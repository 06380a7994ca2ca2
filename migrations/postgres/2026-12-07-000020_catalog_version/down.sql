DROP TRIGGER IF EXISTS catalog_version_charts ON charts;
DROP TRIGGER IF EXISTS catalog_version_dashboards ON dashboards;
DROP TRIGGER IF EXISTS catalog_version_dashboard_charts ON dashboard_charts;
DROP TRIGGER IF EXISTS catalog_version_dashboard_owners ON dashboard_owners;
DROP TRIGGER IF EXISTS catalog_version_datasets ON datasets;
DROP TRIGGER IF EXISTS catalog_version_databases ON databases;
DROP TRIGGER IF EXISTS catalog_version_users ON users;
DROP FUNCTION IF EXISTS catalog_version_bump();
DROP TABLE catalog_version;
