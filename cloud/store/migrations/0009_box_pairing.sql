INSERT INTO accounts (id, status, region, balance_cents) VALUES ('', 'closed', '', 0);
ALTER TABLE boxes ADD COLUMN paired INTEGER NOT NULL DEFAULT 0;
CREATE TABLE pairing_codes (
	code TEXT PRIMARY KEY,
	box TEXT NOT NULL UNIQUE REFERENCES boxes(id),
	expires INTEGER NOT NULL
);
CREATE TABLE enrollments (
	token_hash TEXT PRIMARY KEY,
	account TEXT NOT NULL REFERENCES accounts(id),
	uses_left INTEGER NOT NULL,
	expires INTEGER NOT NULL
);
CREATE TABLE pairing_failures (key TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX pairing_failures_key ON pairing_failures (key, at);
UPDATE boxes SET paired = registered;
