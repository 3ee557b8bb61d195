CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO meta VALUES ('catalog_version', '0');
CREATE TABLE items (
	id TEXT PRIMARY KEY,
	title TEXT NOT NULL,
	kind TEXT NOT NULL,
	price_cents INTEGER NOT NULL,
	size INTEGER NOT NULL,
	sealed_size INTEGER NOT NULL,
	info_hash TEXT NOT NULL UNIQUE,
	pieces INTEGER NOT NULL,
	torrent BLOB NOT NULL,
	added INTEGER NOT NULL
);
CREATE TABLE item_keys (item TEXT PRIMARY KEY REFERENCES items(id), wrapped BLOB NOT NULL);
CREATE TABLE accounts (
	id TEXT PRIMARY KEY,
	status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'closed')),
	region TEXT NOT NULL,
	balance_cents INTEGER NOT NULL CHECK (balance_cents >= 0)
);
CREATE TABLE ledger (
	id INTEGER PRIMARY KEY,
	account TEXT NOT NULL REFERENCES accounts(id),
	kind TEXT NOT NULL,
	amount_cents INTEGER NOT NULL,
	item TEXT,
	at INTEGER NOT NULL
);
CREATE TABLE boxes (
	id TEXT PRIMARY KEY,
	account TEXT NOT NULL REFERENCES accounts(id),
	sign_key BLOB NOT NULL,
	kem_key BLOB NOT NULL,
	peer_addr TEXT NOT NULL DEFAULT '',
	free_bytes INTEGER NOT NULL DEFAULT 0,
	registered INTEGER NOT NULL,
	last_sync INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE wishes (
	box TEXT NOT NULL REFERENCES boxes(id),
	item TEXT NOT NULL,
	rank INTEGER NOT NULL,
	PRIMARY KEY (box, item)
);
CREATE TABLE holdings (
	box TEXT NOT NULL REFERENCES boxes(id),
	item TEXT NOT NULL,
	pieces INTEGER NOT NULL,
	complete INTEGER NOT NULL,
	PRIMARY KEY (box, item)
);
CREATE TABLE transfers (
	box TEXT NOT NULL REFERENCES boxes(id),
	item TEXT NOT NULL,
	bytes_from_server INTEGER NOT NULL,
	bytes_from_peers INTEGER NOT NULL,
	complete INTEGER NOT NULL,
	updated INTEGER NOT NULL,
	PRIMARY KEY (box, item)
);
CREATE TABLE served (
	box TEXT NOT NULL,
	item TEXT NOT NULL,
	bytes INTEGER NOT NULL,
	PRIMARY KEY (box, item)
);
CREATE TABLE licenses (
	id TEXT PRIMARY KEY,
	request_id TEXT NOT NULL,
	box TEXT NOT NULL REFERENCES boxes(id),
	item TEXT NOT NULL REFERENCES items(id),
	kind TEXT NOT NULL,
	expires INTEGER NOT NULL,
	charged_cents INTEGER NOT NULL,
	envelope BLOB NOT NULL,
	UNIQUE (box, request_id)
);
