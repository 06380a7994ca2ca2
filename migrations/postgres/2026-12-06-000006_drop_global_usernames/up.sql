-- Contract: usernames are no longer unique across tenants.
ALTER TABLE users DROP CONSTRAINT users_username_key;
