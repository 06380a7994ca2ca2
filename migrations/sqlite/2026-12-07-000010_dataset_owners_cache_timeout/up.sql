-- Datasets gain what update_dataset sets beyond their columns: owners besides the creator
-- (who may change the dataset, its columns and metrics) and a chart data cache timeout in
-- seconds (NULL: the server's cache.chart_data_ttl_ms; 0: never cached).
ALTER TABLE datasets ADD COLUMN cache_timeout INTEGER;

CREATE TABLE dataset_owners (
    dataset_id INTEGER NOT NULL REFERENCES datasets(id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (dataset_id, user_id)
);
CREATE INDEX dataset_owners_user ON dataset_owners (user_id);
