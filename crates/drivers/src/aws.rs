//! The AWS-compatible driver (EC2 instances, S3 buckets). Work in progress.
