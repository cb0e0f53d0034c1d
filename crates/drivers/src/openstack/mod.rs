//! The OpenStack driver: Keystone v3 application credentials, the service
//! catalogue, Nova servers and flavours, Placement capacity, Glance images
//! and `os-simple-tenant-usage`. Cinder volumes and Neutron networks are
//! described by [`cinder`] and [`neutron`], checked against the official
//! API reference samples because those services do not run here.

pub mod cinder;
pub mod neutron;
