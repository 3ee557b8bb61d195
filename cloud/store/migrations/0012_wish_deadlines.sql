-- The household's "ready by" times for its wishes, as its box last reported them (SCHED-18):
-- a JSON list of {"item", "by"}.
ALTER TABLE box_reports ADD COLUMN deadlines TEXT NOT NULL DEFAULT '[]';
