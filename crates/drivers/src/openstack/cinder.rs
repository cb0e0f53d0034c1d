//! Cinder v3 volumes: request bodies and response parsing.
