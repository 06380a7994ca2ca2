-- The extension stays: other objects may use it.
DROP INDEX IF EXISTS charts_name_trgm;
DROP INDEX IF EXISTS charts_description_trgm;
DROP INDEX IF EXISTS dashboards_title_trgm;
DROP INDEX IF EXISTS dashboards_slug_trgm;
DROP INDEX IF EXISTS dashboards_description_trgm;
DROP INDEX IF EXISTS datasets_table_name_trgm;
DROP INDEX IF EXISTS datasets_schema_name_trgm;
DROP INDEX IF EXISTS datasets_description_trgm;
