-- One row every instance rewrites when /ready is asked: readiness proves the database takes a
-- write (a lock held by another process, a full disk or a read-only file fail it), not only a read.
CREATE TABLE ready_probe (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  writes INTEGER NOT NULL
);
