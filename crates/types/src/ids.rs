//! Typed identifiers. Each resource has its own id type so a user id can never
//! be passed where an institution id is expected. Ids are UUIDv7: unguessable
//! enough that they leak nothing across tenants, yet roughly time-ordered.

/// Declares a typed id (usable from other modules of this crate).
macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(transparent)]
        #[schema(value_type = String, format = Uuid)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(uuid::Uuid::now_v7())
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                uuid::Uuid::parse_str(s).map(Self)
            }
        }
    };
}

typed_id!(
    /// An institution (tenant).
    InstitutionId
);
typed_id!(
    /// A user account.
    UserId
);
typed_id!(
    /// A role assignment of one user.
    RoleAssignmentId
);
typed_id!(
    /// An information system (IS).
    InformationSystemId
);
typed_id!(
    /// An API token.
    ApiTokenId
);

pub(crate) use typed_id as typed_id_pub;
