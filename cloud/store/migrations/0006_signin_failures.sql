CREATE TABLE signin_failures (key TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX signin_failures_key ON signin_failures (key, at);
