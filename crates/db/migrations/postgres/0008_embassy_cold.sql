-- Cold copies of protected systems into immutable (Object Lock) buckets,
-- and the S3 endpoint of a protection's s3:// locations (its credentials
-- are sealed with the repository passwords). Same on both engines.

ALTER TABLE embassy_protections ADD COLUMN cold_location TEXT;
ALTER TABLE embassy_protections ADD COLUMN cold_retain_days BIGINT NOT NULL DEFAULT 90;
ALTER TABLE embassy_protections ADD COLUMN cold_interval_days BIGINT NOT NULL DEFAULT 7;
ALTER TABLE embassy_protections ADD COLUMN s3_endpoint TEXT;
