//! Neutron v2 networks: request bodies and response parsing.
