//! Authentication: local passwords (argon2id), TOTP second factor (RFC 6238)
//! with recovery codes, portal sessions, login throttling and API tokens
//! (issue 2 §4, REQUIREMENTS WP-2, SEC-5).
//!
//! The seam for single sign-on: a first factor ends in
//! [`App::start_session`] with the authenticated [`FirstFactor`]. The
//! password login is one such path; an OpenID Connect callback will be
//! another, mapping the verified `(issuer, subject)` or e-mail to a user and
//! calling the same function, so MFA enforcement and session handling stay
//! in one place.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use makonis_db::commit;
use makonis_db::identity::{api_token as tokens, role, session, throttle, user as users};
use makonis_types::roles::RoleAssignment;
use makonis_types::token::{ApiToken, CreatedApiToken, NewApiTokenInput, TokenScope};
use makonis_types::user::User;
use makonis_types::{ApiTokenId, FieldError, UserId, Validator};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use crate::audit::{self, Change};
use crate::{Actor, App, Error, OpContext, Result, now};

/// How the person proved who they are before the second factor.
#[derive(Debug, Clone)]
pub enum FirstFactor {
    Password,
    /// Reserved for OpenID Connect: the verified issuer and subject.
    Oidc {
        issuer: String,
        subject: String,
    },
}

/// What a fresh or resumed session still needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Fully signed in.
    Active,
    /// Must enter a TOTP or recovery code.
    NeedsMfa,
    /// Holds a role that demands a second factor but has none yet.
    NeedsEnrolment,
}

/// A session as the portal sees it.
#[derive(Debug, Clone)]
pub struct SessionView {
    pub stage: Stage,
    pub user: User,
    pub csrf_token: String,
    /// Usable for app calls only when `stage` is `Active`.
    pub ctx: OpContext,
}

#[derive(Debug, Clone)]
pub struct NewSession {
    /// The cookie value. Shown once; only its hash is stored.
    pub token: String,
    pub view: SessionView,
}

/// A TOTP enrolment in progress.
#[derive(Debug, Clone)]
pub struct Enrolment {
    /// Base32 secret for manual entry.
    pub secret: String,
    pub otpauth_url: String,
    /// The otpauth URL as an SVG QR code.
    pub qr_svg: String,
}

pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::encode_b64(&random_bytes::<16>()).map_err(Error::internal)?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(Error::internal)
}

fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Hashes on the blocking pool: argon2 takes tens of milliseconds on purpose.
pub async fn hash_password_blocking(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(Error::internal)?
}

/// A hash to check against when the account does not exist, so a wrong
/// e-mail costs as much time as a wrong password.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such account, constant time").expect("hash"))
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

fn random_token(prefix: &str) -> String {
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(random_bytes::<32>()))
}

/// 256 random bits as text, for machine-held passwords (demo repositories).
pub fn random_secret() -> String {
    random_token("")
}

/// SHA-256 of a high-entropy secret (tokens, recovery codes). Such secrets
/// need no slow hash: they cannot be guessed from their hash.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

fn totp_for(secret: Vec<u8>, issuer: &str, account: &str) -> Result<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        1,
        30,
        secret,
        Some(issuer.to_owned()),
        account.to_owned(),
    )
    .map_err(Error::internal)
}

/// The time step a code matches (within one step of clock drift), if any.
fn matching_step(totp: &TOTP, code: &str, at: DateTime<Utc>) -> Option<i64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds = at.timestamp().max(0) as u64;
    let step = (seconds / 30) as i64;
    [step - 1, step, step + 1].into_iter().find(|s| {
        let candidate = totp.generate((*s as u64) * 30);
        bool::from(candidate.as_bytes().ct_eq(code.as_bytes()))
    })
}

fn totp_context(user: UserId) -> String {
    format!("totp:{user}")
}

fn wrong_code() -> Error {
    Error::invalid(FieldError::new(
        "code",
        "invalid",
        "the code is wrong or was already used; enter the current code from your authenticator app",
    )
    .with_param("reason", "totp"))
}

impl App {
    fn throttle_check(counter: Option<&throttle::Counter>, at: DateTime<Utc>) -> Result<()> {
        if let Some(until) = counter.and_then(|c| c.locked_until).filter(|u| *u > at) {
            return Err(Error::TooManyRequests {
                retry_after_secs: (until - at).num_seconds().max(1),
            });
        }
        Ok(())
    }

    /// Counts a failure against `key`; returns true if it now locks.
    async fn throttle_fail(&self, key: &str, max: i64) -> Result<bool> {
        let at = now();
        let mut tx = self.datastore().begin().await?;
        let config = self.config();
        let mut counter = throttle::get(&mut tx, key)
            .await?
            .unwrap_or(throttle::Counter {
                failures: 0,
                window_start: at,
                locked_until: None,
            });
        if at - counter.window_start > config.throttle_window {
            counter = throttle::Counter {
                failures: 0,
                window_start: at,
                locked_until: None,
            };
        }
        counter.failures += 1;
        let locks = counter.failures >= max;
        if locks {
            counter.locked_until = Some(at + config.lockout);
            counter.failures = 0;
            counter.window_start = at;
        }
        throttle::put(&mut tx, key, &counter).await?;
        commit(tx).await?;
        Ok(locks)
    }

    async fn load_roles(&self, user: UserId) -> Result<Vec<RoleAssignment>> {
        let mut conn = self.datastore().conn().await?;
        Ok(role::for_user(&mut conn, user).await?)
    }

    /// Checks e-mail and password. Unknown accounts, wrong passwords and
    /// disabled accounts all get the same answer and take the same time.
    pub async fn login_with_password(
        &self,
        request_id: &str,
        email: &str,
        password: &str,
        client_address: &str,
    ) -> Result<NewSession> {
        let email = email.trim().to_lowercase();
        let mut v = Validator::new();
        if email.is_empty() {
            v.push(FieldError::required("email"));
        }
        if password.is_empty() {
            v.push(FieldError::required("password"));
        }
        v.finish()?;
        let account_key = format!("account:{email}");
        let address_key = format!("address:{client_address}");
        let at = now();
        {
            let mut conn = self.datastore().conn().await?;
            Self::throttle_check(throttle::get(&mut conn, &account_key).await?.as_ref(), at)?;
            Self::throttle_check(throttle::get(&mut conn, &address_key).await?.as_ref(), at)?;
        }
        let credentials = {
            let mut conn = self.datastore().conn().await?;
            users::credentials_by_email(&mut conn, &email).await?
        };
        let hash = credentials
            .as_ref()
            .and_then(|c| c.password_hash.clone())
            .unwrap_or_else(|| dummy_hash().to_owned());
        let password = password.to_owned();
        let password_ok = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
            .await
            .map_err(Error::internal)?;
        let credentials = match credentials {
            Some(c) if password_ok && c.user.active && c.password_hash.is_some() => c,
            _ => {
                tracing::info!(%email, %client_address, "failed login");
                let locked = self
                    .throttle_fail(&account_key, self.config().max_failures_per_account)
                    .await?;
                self.throttle_fail(&address_key, self.config().max_failures_per_address)
                    .await?;
                if locked {
                    self.audit_security_event(request_id, "user.login_locked", &email)
                        .await?;
                }
                return Err(Error::invalid(
                    FieldError::new(
                        "password",
                        "invalid",
                        "the e-mail address or the password is wrong",
                    )
                    .with_param("reason", "credentials"),
                ));
            }
        };
        let mut tx = self.datastore().begin().await?;
        throttle::clear(&mut tx, &account_key).await?;
        commit(tx).await?;
        self.start_session(
            request_id,
            credentials.user,
            credentials.totp_secret.is_some(),
            FirstFactor::Password,
        )
        .await
    }

    async fn audit_security_event(
        &self,
        request_id: &str,
        action: &str,
        subject: &str,
    ) -> Result<()> {
        let mut tx = self.datastore().begin().await?;
        audit::append(
            &mut tx,
            &OpContext::system(request_id),
            Change {
                action,
                target_kind: "user",
                target_id: subject.to_owned(),
                target_institution: None,
                before: None,
                after: None,
            },
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    /// Opens a session after a successful first factor. The second factor
    /// is still owed if the user has one, or must be enrolled if a role
    /// demands it.
    pub async fn start_session(
        &self,
        request_id: &str,
        user: User,
        has_totp: bool,
        first_factor: FirstFactor,
    ) -> Result<NewSession> {
        let roles = self.load_roles(user.id).await?;
        let needs_second_factor = has_totp || roles.iter().any(|r| r.role.requires_mfa());
        let token = random_token("");
        let at = now();
        let record = session::Session {
            token_hash: secret_hash(&token),
            user_id: user.id,
            csrf_token: URL_SAFE_NO_PAD.encode(random_bytes::<24>()),
            mfa_verified: !needs_second_factor,
            created_at: at,
            last_seen_at: at,
            expires_at: at + self.config().session_idle,
        };
        let ctx = OpContext {
            actor: Actor::User {
                user: user.clone(),
                roles: roles.clone(),
                token_scope: None,
            },
            request_id: request_id.to_owned(),
        };
        let mut tx = self.datastore().begin().await?;
        session::insert(&mut tx, &record).await?;
        audit::append(
            &mut tx,
            &ctx,
            Change {
                action: "user.login",
                target_kind: "user",
                target_id: user.id.to_string(),
                target_institution: user.institution_id,
                before: None,
                after: Some(serde_json::json!({
                    "method": match first_factor {
                        FirstFactor::Password => "password".to_owned(),
                        FirstFactor::Oidc { issuer, .. } => format!("oidc:{issuer}"),
                    },
                    "second_factor_pending": needs_second_factor,
                })),
            },
        )
        .await?;
        commit(tx).await?;
        let stage = stage_of(&record, has_totp, &roles);
        Ok(NewSession {
            token,
            view: SessionView {
                stage,
                user,
                csrf_token: record.csrf_token,
                ctx,
            },
        })
    }

    /// Resolves a session cookie. Expired or unknown sessions are
    /// `Unauthenticated`; the idle timer slides forward on use.
    pub async fn resolve_session(&self, token: &str, request_id: &str) -> Result<SessionView> {
        let hash = secret_hash(token);
        let at = now();
        let mut conn = self.datastore().conn().await?;
        let Some(record) = session::get(&mut conn, &hash).await? else {
            return Err(Error::Unauthenticated);
        };
        if record.expires_at <= at || at - record.created_at > self.config().session_absolute {
            drop(conn);
            let mut tx = self.datastore().begin().await?;
            session::delete(&mut tx, &hash).await?;
            commit(tx).await?;
            return Err(Error::Unauthenticated);
        }
        let Some(credentials) = users::credentials(&mut conn, record.user_id).await? else {
            return Err(Error::Unauthenticated);
        };
        if !credentials.user.active {
            return Err(Error::Unauthenticated);
        }
        let roles = role::for_user(&mut conn, record.user_id).await?;
        drop(conn);
        // Writing on every request would serialise all reads behind the
        // writer; a minute's precision is plenty for an idle timeout.
        if at - record.last_seen_at > Duration::minutes(1) {
            let mut tx = self.datastore().begin().await?;
            session::touch(&mut tx, &hash, at, at + self.config().session_idle).await?;
            commit(tx).await?;
        }
        let stage = stage_of(&record, credentials.totp_secret.is_some(), &roles);
        Ok(SessionView {
            stage,
            csrf_token: record.csrf_token,
            ctx: OpContext {
                actor: Actor::User {
                    user: credentials.user.clone(),
                    roles,
                    token_scope: None,
                },
                request_id: request_id.to_owned(),
            },
            user: credentials.user,
        })
    }

    /// Completes the second factor with a TOTP code or a recovery code.
    pub async fn verify_second_factor(
        &self,
        token: &str,
        request_id: &str,
        code: &str,
    ) -> Result<()> {
        let view = self.resolve_session(token, request_id).await?;
        if view.stage != Stage::NeedsMfa {
            return Err(Error::Conflict {
                message: "this session needs no second factor now".into(),
            });
        }
        let user = view.user.id;
        let account_key = format!("account:{}", view.user.email);
        {
            let mut conn = self.datastore().conn().await?;
            Self::throttle_check(
                throttle::get(&mut conn, &account_key).await?.as_ref(),
                now(),
            )?;
        }
        let credentials = {
            let mut conn = self.datastore().conn().await?;
            users::credentials(&mut conn, user)
                .await?
                .ok_or(Error::Unauthenticated)?
        };
        let sealed = credentials.totp_secret.ok_or(Error::Unauthenticated)?;
        let secret = self
            .secrets()
            .open(&totp_context(user), &sealed)
            .ok_or_else(|| {
                Error::internal(format!(
                    "TOTP secret of {user} does not open with the master key"
                ))
            })?;
        let totp = totp_for(secret, &self.config().totp_issuer, &view.user.email)?;
        let mut tx = self.datastore().begin().await?;
        let accepted = match matching_step(&totp, code, now()) {
            Some(step) => users::claim_totp_step(&mut tx, user, step).await?,
            None => {
                let normalised = code.trim().to_lowercase();
                normalised.len() > 6
                    && users::use_recovery_code(&mut tx, user, &secret_hash(&normalised), now())
                        .await?
            }
        };
        if !accepted {
            drop(tx);
            self.throttle_fail(&account_key, self.config().max_failures_per_account)
                .await?;
            return Err(wrong_code());
        }
        session::mark_mfa_verified(&mut tx, &secret_hash(token)).await?;
        throttle::clear(&mut tx, &account_key).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Starts (or restarts) TOTP enrolment for the session's user.
    pub async fn begin_totp_enrolment(&self, token: &str, request_id: &str) -> Result<Enrolment> {
        let view = self.resolve_session(token, request_id).await?;
        if view.stage == Stage::NeedsMfa {
            return Err(Error::Unauthenticated);
        }
        let secret = random_bytes::<20>().to_vec();
        let totp = totp_for(secret.clone(), &self.config().totp_issuer, &view.user.email)?;
        let url = totp.get_url();
        let qr_svg = qrcode::QrCode::new(url.as_bytes())
            .map_err(Error::internal)?
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build();
        let mut tx = self.datastore().begin().await?;
        let sealed = self.secrets().seal(&totp_context(view.user.id), &secret);
        users::set_totp_pending(&mut tx, view.user.id, Some(&sealed)).await?;
        commit(tx).await?;
        Ok(Enrolment {
            secret: totp.get_secret_base32(),
            otpauth_url: url,
            qr_svg,
        })
    }

    /// Confirms enrolment with a code from the new secret; returns the
    /// recovery codes, shown once.
    pub async fn finish_totp_enrolment(
        &self,
        token: &str,
        request_id: &str,
        code: &str,
    ) -> Result<Vec<String>> {
        let view = self.resolve_session(token, request_id).await?;
        if view.stage == Stage::NeedsMfa {
            return Err(Error::Unauthenticated);
        }
        let user = view.user.id;
        let credentials = {
            let mut conn = self.datastore().conn().await?;
            users::credentials(&mut conn, user)
                .await?
                .ok_or(Error::Unauthenticated)?
        };
        let Some(pending) = credentials.totp_pending_secret else {
            return Err(Error::Conflict {
                message: "start the enrolment again: no secret is pending".into(),
            });
        };
        let secret = self
            .secrets()
            .open(&totp_context(user), &pending)
            .ok_or_else(|| Error::internal("pending TOTP secret does not open"))?;
        let totp = totp_for(secret, &self.config().totp_issuer, &view.user.email)?;
        let Some(step) = matching_step(&totp, code, now()) else {
            return Err(wrong_code());
        };
        let codes: Vec<String> = (0..10).map(|_| recovery_code()).collect();
        let hashes: Vec<String> = codes.iter().map(|c| secret_hash(c)).collect();
        let mut tx = self.datastore().begin().await?;
        users::set_totp(&mut tx, user, Some(&pending), now()).await?;
        users::claim_totp_step(&mut tx, user, step).await?;
        users::replace_recovery_codes(&mut tx, user, &hashes).await?;
        session::mark_mfa_verified(&mut tx, &secret_hash(token)).await?;
        audit::append(
            &mut tx,
            &view.ctx,
            Change {
                action: "user.mfa_enrol",
                target_kind: "user",
                target_id: user.to_string(),
                target_institution: view.user.institution_id,
                before: Some(
                    serde_json::json!({ "mfa_enabled": credentials.totp_secret.is_some() }),
                ),
                after: Some(
                    serde_json::json!({ "mfa_enabled": true, "recovery_codes": codes.len() }),
                ),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(codes)
    }

    pub async fn logout(&self, token: &str) -> Result<()> {
        let mut tx = self.datastore().begin().await?;
        session::delete(&mut tx, &secret_hash(token)).await?;
        commit(tx).await?;
        Ok(())
    }

    /// Resolves an `Authorization: Bearer` token into an operation context.
    pub async fn authenticate_api_token(
        &self,
        secret: &str,
        request_id: &str,
    ) -> Result<OpContext> {
        let at = now();
        let mut conn = self.datastore().conn().await?;
        let token = tokens::find_by_hash(&mut conn, &secret_hash(secret))
            .await?
            .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > at))
            .ok_or(Error::Unauthenticated)?;
        let user = users::get(&mut conn, token.user_id)
            .await?
            .filter(|u| u.active)
            .ok_or(Error::Unauthenticated)?;
        let roles = role::for_user(&mut conn, user.id).await?;
        drop(conn);
        if token
            .last_used_at
            .is_none_or(|t| at - t > Duration::minutes(5))
        {
            let mut tx = self.datastore().begin().await?;
            tokens::touch(&mut tx, token.id, at).await?;
            commit(tx).await?;
        }
        Ok(OpContext {
            actor: Actor::User {
                user,
                roles,
                token_scope: Some(token.scope),
            },
            request_id: request_id.to_owned(),
        })
    }

    /// Creates an API token for the calling user; the secret is returned
    /// once. Tokens cannot mint tokens: that takes a portal session.
    pub async fn create_api_token(
        &self,
        ctx: &OpContext,
        input: &NewApiTokenInput,
    ) -> Result<CreatedApiToken> {
        let user = match &ctx.actor {
            Actor::User {
                user,
                token_scope: None,
                ..
            } => user.clone(),
            Actor::User { .. } => {
                return Err(Error::forbidden(
                    "API tokens can only be created from a signed-in portal session",
                ));
            }
            _ => return Err(Error::Unauthenticated),
        };
        let mut v = Validator::new();
        let name = v.text("name", &input.name, 100);
        if let Some(days) = input.expires_in_days {
            v.range("expires_in_days", days, 1, 366);
        }
        v.finish()?;
        let at = now();
        let secret = random_token("mk_");
        let token = ApiToken {
            id: ApiTokenId::new(),
            user_id: user.id,
            name,
            scope: input.scope,
            created_at: at,
            expires_at: input.expires_in_days.map(|d| at + Duration::days(d)),
            last_used_at: None,
            revoked_at: None,
        };
        let mut tx = self.datastore().begin().await?;
        tokens::insert(&mut tx, &token, &secret_hash(&secret)).await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "api_token.create",
                target_kind: "api_token",
                target_id: token.id.to_string(),
                target_institution: user.institution_id,
                before: None,
                after: audit::summary(&token),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(CreatedApiToken { token, secret })
    }

    pub async fn list_api_tokens(&self, ctx: &OpContext) -> Result<Vec<ApiToken>> {
        let user = ctx.user().ok_or(Error::Unauthenticated)?;
        let mut conn = self.datastore().conn().await?;
        Ok(tokens::list_for_user(&mut conn, user.id).await?)
    }

    /// Revokes one of the caller's own tokens.
    pub async fn revoke_api_token(&self, ctx: &OpContext, id: ApiTokenId) -> Result<()> {
        let user = ctx.user().ok_or(Error::Unauthenticated)?.clone();
        if matches!(
            ctx.actor,
            Actor::User {
                token_scope: Some(TokenScope::Read),
                ..
            }
        ) {
            return Err(Error::forbidden("this API token is read-only"));
        }
        let mut tx = self.datastore().begin().await?;
        let token = tokens::get(&mut tx, id)
            .await?
            .filter(|t| t.user_id == user.id)
            .ok_or(Error::NotFound { kind: "API token" })?;
        tokens::revoke(&mut tx, id, now())
            .await
            .map_err(|e| match e {
                makonis_db::Error::NotFound => Error::Conflict {
                    message: "the token is already revoked".into(),
                },
                other => other.into(),
            })?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "api_token.revoke",
                target_kind: "api_token",
                target_id: id.to_string(),
                target_institution: user.institution_id,
                before: audit::summary(&token),
                after: None,
            },
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }
}

fn stage_of(record: &session::Session, has_totp: bool, roles: &[RoleAssignment]) -> Stage {
    if record.mfa_verified {
        Stage::Active
    } else if has_totp {
        Stage::NeedsMfa
    } else if roles.iter().any(|r| r.role.requires_mfa()) {
        Stage::NeedsEnrolment
    } else {
        Stage::Active
    }
}

/// `xxxx-xxxx-xxxx` in lower-case base32: 60 bits, easy to type.
fn recovery_code() -> String {
    let raw = data_encoding::BASE32_NOPAD
        .encode(&random_bytes::<8>())
        .to_lowercase();
    format!("{}-{}-{}", &raw[0..4], &raw[4..8], &raw[8..12])
}

/// Generates the current TOTP code for a base32 secret; used by tests and
/// by the demo's printed instructions.
pub fn current_totp_code(secret_base32: &str) -> Option<String> {
    let secret = totp_rs::Secret::Encoded(secret_base32.to_owned())
        .to_bytes()
        .ok()?;
    let totp = TOTP::new(Algorithm::SHA1, 6, 1, 30, secret, None, String::new()).ok()?;
    totp.generate_current().ok()
}
