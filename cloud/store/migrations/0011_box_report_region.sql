-- Where the box's address is, per the operator's prefix map (SCHED-15): the region its syncs
-- come from; '' = its account's region. box_reports.network holds the network label it resolved.
ALTER TABLE box_reports ADD COLUMN region TEXT NOT NULL DEFAULT '';
