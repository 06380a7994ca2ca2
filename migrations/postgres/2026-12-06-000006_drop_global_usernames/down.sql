-- Fails if two tenants have a user of the same name: rename one first.
ALTER TABLE users ADD CONSTRAINT users_username_key UNIQUE (username);
