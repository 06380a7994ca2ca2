-- The list tools' `search` (and `ilike` filters) match `lower(column) LIKE '%term%'`: without
-- an index every search reads the whole table, twice (count, then page). Trigram GIN indexes
-- on those expressions let PostgreSQL read only the rows that can match. Results do not
-- change: the same expressions are evaluated, the indexes only find the candidates.
--
-- pg_trgm ships with PostgreSQL (contrib) and is a trusted extension (13+): the database
-- owner may create it. Where it is missing or may not be created, this migration leaves
-- the schema as it was (a NOTICE says why) and search scans as before.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        RAISE NOTICE 'pg_trgm is not available: list search stays a table scan';
        RETURN;
    END IF;
    BEGIN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
    EXCEPTION WHEN insufficient_privilege THEN
        RAISE NOTICE 'pg_trgm may not be created here (%): list search stays a table scan', SQLERRM;
        RETURN;
    END;
    EXECUTE 'CREATE INDEX IF NOT EXISTS charts_name_trgm ON charts USING gin (lower(name) gin_trgm_ops)';
    EXECUTE 'CREATE INDEX IF NOT EXISTS charts_description_trgm ON charts USING gin (lower(description) gin_trgm_ops)';
    EXECUTE 'CREATE INDEX IF NOT EXISTS dashboards_title_trgm ON dashboards USING gin (lower(title) gin_trgm_ops)';
    EXECUTE 'CREATE INDEX IF NOT EXISTS dashboards_slug_trgm ON dashboards USING gin (lower(slug) gin_trgm_ops)';
    EXECUTE 'CREATE INDEX IF NOT EXISTS dashboards_description_trgm ON dashboards USING gin (lower(description) gin_trgm_ops)';
    EXECUTE 'CREATE INDEX IF NOT EXISTS datasets_table_name_trgm ON datasets USING gin (lower(table_name) gin_trgm_ops)';
    EXECUTE 'CREATE INDEX IF NOT EXISTS datasets_schema_name_trgm ON datasets USING gin (lower(schema_name) gin_trgm_ops)';
    EXECUTE 'CREATE INDEX IF NOT EXISTS datasets_description_trgm ON datasets USING gin (lower(description) gin_trgm_ops)';
END
$$;
