-- Geometry processing is claimed with a lease that its worker renews, as jobs are: after a
-- crash another worker (or the restarted server) takes the geometry over once the lease
-- has run out, instead of leaving it `processing` for good.
ALTER TABLE geometries ADD COLUMN lease_owner TEXT;
ALTER TABLE geometries ADD COLUMN lease_expires_at BIGINT;
