-- Fails if two tenants use the same role name: rename one first.
ALTER TABLE roles ADD CONSTRAINT roles_name_key UNIQUE (name);
