DROP TABLE dataset_owners;
ALTER TABLE datasets DROP COLUMN cache_timeout;
