//! API tokens: scoped credentials for the REST API and the CLI.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ApiTokenId, UserId, string_enum};

string_enum!(
    /// What a token may do.
    TokenScope {
        /// GET requests only.
        Read = "read",
        /// Everything its owner may do.
        Write = "write",
    }
);

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub user_id: UserId,
    pub name: String,
    pub scope: TokenScope,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiTokenInput {
    pub name: String,
    pub scope: TokenScope,
    /// Days until the token expires (1–366); none for no expiry.
    #[serde(default)]
    pub expires_in_days: Option<i64>,
}

/// The one response that carries a token's secret.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CreatedApiToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// The secret: shown once, never stored in clear.
    pub secret: String,
}
