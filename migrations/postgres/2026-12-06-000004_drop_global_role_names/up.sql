-- Contract: role names are no longer unique across tenants.
ALTER TABLE roles DROP CONSTRAINT roles_name_key;
