ALTER TABLE items ADD COLUMN category TEXT NOT NULL DEFAULT '';
CREATE INDEX items_category ON items (category);
