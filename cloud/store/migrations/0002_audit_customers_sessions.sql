ALTER TABLE items ADD COLUMN regions TEXT NOT NULL DEFAULT '';
ALTER TABLE boxes ADD COLUMN wish_version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE ledger ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE licenses ADD COLUMN account TEXT NOT NULL DEFAULT '';
ALTER TABLE licenses ADD COLUMN issued INTEGER NOT NULL DEFAULT 0;
CREATE INDEX licenses_box_item ON licenses (box, item);
CREATE INDEX ledger_account ON ledger (account, id);
CREATE INDEX boxes_account ON boxes (account);
CREATE TABLE audit (
	id INTEGER PRIMARY KEY,
	at INTEGER NOT NULL,
	box TEXT NOT NULL,
	account TEXT NOT NULL,
	item TEXT NOT NULL,
	kind TEXT NOT NULL,
	outcome TEXT NOT NULL CHECK (outcome IN ('issued', 'refused')),
	reason TEXT NOT NULL,
	source TEXT NOT NULL,
	license TEXT NOT NULL DEFAULT ''
);
CREATE TABLE customers (
	account TEXT PRIMARY KEY REFERENCES accounts(id),
	password_hash TEXT NOT NULL
);
CREATE TABLE sessions (
	token_hash TEXT PRIMARY KEY,
	account TEXT NOT NULL REFERENCES accounts(id),
	csrf TEXT NOT NULL,
	expires INTEGER NOT NULL
);
