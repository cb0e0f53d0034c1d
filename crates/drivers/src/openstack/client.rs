//! The HTTP side of the OpenStack driver: Keystone v3 authentication with
//! an application credential, the token's service catalogue, and requests
//! to the services it lists. It owns token reuse and renewal (a token is
//! reused until two minutes before it expires, and renewed once when a
//! service answers 401), endpoint discovery by region and interface,
//! translation of OpenStack's error bodies into [`DriverError`]s that name
//! the provider and the object, and retries: only reads and deletes are
//! retried (with backoff), never a create, which the driver makes safe by
//! looking for the resource first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;

use crate::{DriverError, DriverResult};

/// How to reach one OpenStack cloud: the Keystone URL (the provider's
/// endpoint) and the settings and secrets in its credentials JSON.
#[derive(Clone, PartialEq, Eq)]
pub struct OpenStackConfig {
    /// The provider's name, for messages.
    pub provider: String,
    /// Keystone's v3 URL, e.g. `http://127.0.0.1:5000/v3`.
    pub auth_url: String,
    pub application_credential_id: String,
    pub application_credential_secret: String,
    pub region: String,
    /// Which catalogue endpoints to use: `public` (default), `internal`
    /// or `admin`.
    pub interface: String,
    /// Image (name or id) servers boot from; `None` uses the first active
    /// image Glance lists.
    pub image: Option<String>,
    /// What `networks` to give Nova: `none`, `auto` or a network id.
    pub networks: String,
    /// Availability zone for new servers, if the cloud has several.
    pub availability_zone: Option<String>,
    /// Per-request time limit.
    pub timeout: Duration,
}

impl std::fmt::Debug for OpenStackConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenStackConfig")
            .field("provider", &self.provider)
            .field("auth_url", &self.auth_url)
            .field("application_credential_id", &self.application_credential_id)
            .field("application_credential_secret", &"<sealed>")
            .field("region", &self.region)
            .field("interface", &self.interface)
            .field("image", &self.image)
            .field("networks", &self.networks)
            .field("availability_zone", &self.availability_zone)
            .field("timeout", &self.timeout)
            .finish()
    }
}

const SETTINGS: &[&str] = &[
    "application_credential_id",
    "application_credential_secret",
    "region",
    "interface",
    "image",
    "networks",
    "availability_zone",
    "timeout_seconds",
];

impl OpenStackConfig {
    /// Reads a provider's registration: `endpoint` is the Keystone URL and
    /// `credentials` a JSON object with the application credential and the
    /// settings (see `docs/drivers/openstack.md`). Every problem names the
    /// field and what was expected.
    pub fn from_provider(
        provider: &str,
        endpoint: Option<&str>,
        credentials: &Value,
    ) -> DriverResult<Self> {
        let invalid = |m: String| DriverError::Invalid(format!("{provider}: {m}"));
        let auth_url = endpoint
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .ok_or_else(|| invalid("endpoint: the Keystone URL is missing".into()))?;
        let url = url::Url::parse(auth_url)
            .map_err(|e| invalid(format!("endpoint '{auth_url}': {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "endpoint '{auth_url}': expected an http(s) Keystone URL"
            )));
        }
        let Some(object) = credentials.as_object() else {
            return Err(invalid("credentials: expected a JSON object".into()));
        };
        if let Some(unknown) = object.keys().find(|k| !SETTINGS.contains(&k.as_str())) {
            return Err(invalid(format!(
                "credentials: unknown setting '{unknown}' (known: {})",
                SETTINGS.join(", ")
            )));
        }
        let text = |field: &str| -> DriverResult<Option<String>> {
            match object.get(field) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.trim().to_owned())),
                Some(other) => Err(invalid(format!(
                    "credentials.{field}: expected a string, got {other}"
                ))),
            }
        };
        let required = |field: &str| -> DriverResult<String> {
            text(field)?.ok_or_else(|| invalid(format!("credentials.{field} is missing")))
        };
        let interface = text("interface")?.unwrap_or_else(|| "public".into());
        if !matches!(interface.as_str(), "public" | "internal" | "admin") {
            return Err(invalid(format!(
                "credentials.interface: expected public, internal or admin, got '{interface}'"
            )));
        }
        let timeout = match object.get("timeout_seconds") {
            None | Some(Value::Null) => Duration::from_secs(30),
            Some(v) => match v.as_f64() {
                Some(s) if s > 0.0 && s <= 600.0 => Duration::from_secs_f64(s),
                _ => {
                    return Err(invalid(format!(
                        "credentials.timeout_seconds: expected a number of seconds above 0 and at most 600, got {v}"
                    )));
                }
            },
        };
        Ok(Self {
            provider: provider.to_owned(),
            auth_url: auth_url.trim_end_matches('/').to_owned(),
            application_credential_id: required("application_credential_id")?,
            application_credential_secret: required("application_credential_secret")?,
            region: required("region")?,
            interface,
            image: text("image")?,
            networks: text("networks")?.unwrap_or_else(|| "auto".into()),
            availability_zone: text("availability_zone")?,
            timeout,
        })
    }
}

/// The service types Mākonis uses, with the aliases clouds list them under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    Compute,
    Placement,
    Image,
    BlockStorage,
    Network,
}

impl Service {
    fn types(self) -> &'static [&'static str] {
        match self {
            Service::Compute => &["compute"],
            Service::Placement => &["placement"],
            Service::Image => &["image"],
            Service::BlockStorage => &["block-storage", "volumev3"],
            Service::Network => &["network"],
        }
    }

    pub fn name(self) -> &'static str {
        self.types()[0]
    }

    /// The `OpenStack-API-Version` service name for microversions.
    fn microversion_name(self) -> Option<&'static str> {
        match self {
            Service::Compute => Some("compute"),
            Service::Placement => Some("placement"),
            Service::BlockStorage => Some("volume"),
            Service::Image | Service::Network => None,
        }
    }
}

#[derive(Debug, Deserialize)]
struct TokenBody {
    token: TokenInfo,
}

#[derive(Debug, Deserialize)]
struct TokenInfo {
    expires_at: DateTime<Utc>,
    #[serde(default)]
    project: Option<IdOnly>,
    #[serde(default)]
    catalog: Vec<CatalogEntry>,
}

#[derive(Debug, Deserialize)]
struct IdOnly {
    id: String,
}

#[derive(Debug, Clone, Deserialize)]
struct CatalogEntry {
    #[serde(rename = "type")]
    service_type: String,
    #[serde(default)]
    endpoints: Vec<CatalogEndpoint>,
}

#[derive(Debug, Clone, Deserialize)]
struct CatalogEndpoint {
    interface: String,
    #[serde(default)]
    region_id: Option<String>,
    #[serde(default)]
    region: Option<String>,
    url: String,
}

#[derive(Debug, Clone)]
struct Token {
    value: String,
    expires_at: DateTime<Utc>,
    project_id: String,
    catalog: Vec<CatalogEntry>,
}

/// A token is renewed this long before Keystone says it expires, so a
/// request never leaves with a token that dies on the way.
const RENEW_BEFORE: chrono::Duration = chrono::Duration::minutes(2);
/// Tries for a read or delete that met a transient failure.
const ATTEMPTS: u32 = 3;

/// An authenticated client for one cloud, shared by all of the driver's
/// calls.
#[derive(Debug)]
pub struct Client {
    config: OpenStackConfig,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<Arc<Token>>>,
    calls: AtomicU64,
}

/// An answer that parsed as JSON (empty bodies are `Value::Null`).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Client {
    pub fn new(config: OpenStackConfig) -> DriverResult<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("makonis/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| DriverError::Unavailable(format!("{}: {e}", config.provider)))?;
        Ok(Self {
            config,
            http,
            token: tokio::sync::Mutex::new(None),
            calls: AtomicU64::new(0),
        })
    }

    pub fn config(&self) -> &OpenStackConfig {
        &self.config
    }

    /// HTTP requests made so far, Keystone included (for the benchmark).
    pub fn api_calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn provider(&self) -> &str {
        &self.config.provider
    }

    /// A valid token, reusing the cached one until shortly before expiry.
    async fn token(&self) -> DriverResult<Arc<Token>> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref()
            && t.expires_at - RENEW_BEFORE > Utc::now()
        {
            return Ok(t.clone());
        }
        let fresh = Arc::new(self.authenticate().await?);
        *cached = Some(fresh.clone());
        Ok(fresh)
    }

    async fn forget_token(&self, used: &Arc<Token>) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| Arc::ptr_eq(t, used)) {
            *cached = None;
        }
    }

    async fn authenticate(&self) -> DriverResult<Token> {
        let url = format!("{}/auth/tokens", self.config.auth_url);
        let body = serde_json::json!({"auth": {"identity": {
            "methods": ["application_credential"],
            "application_credential": {
                "id": self.config.application_credential_id,
                "secret": self.config.application_credential_secret,
            }
        }}});
        self.calls.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .post(&url)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.transport("keystone", &url, e))?;
        let status = response.status();
        let header = response
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let text = response
            .text()
            .await
            .map_err(|e| self.transport("keystone", &url, e))?;
        if !status.is_success() {
            let message = error_message(&text);
            return Err(match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    DriverError::Unauthorized(format!(
                        "{}: Keystone at {} rejected application credential {}: {message}",
                        self.provider(),
                        self.config.auth_url,
                        self.config.application_credential_id
                    ))
                }
                StatusCode::NOT_FOUND => DriverError::Invalid(format!(
                    "{}: {} is not a Keystone v3 endpoint (POST auth/tokens answered 404)",
                    self.provider(),
                    self.config.auth_url
                )),
                s => self.status_error(s, "keystone", "authentication", message),
            });
        }
        let value = header.ok_or_else(|| {
            DriverError::Unavailable(format!(
                "{}: Keystone issued no X-Subject-Token",
                self.provider()
            ))
        })?;
        let parsed: TokenBody = serde_json::from_str(&text).map_err(|e| {
            DriverError::Unavailable(format!(
                "{}: Keystone's token could not be read: {e}",
                self.provider()
            ))
        })?;
        let project_id = parsed.token.project.map(|p| p.id).ok_or_else(|| {
            DriverError::Invalid(format!(
                "{}: application credential {} is not scoped to a project",
                self.provider(),
                self.config.application_credential_id
            ))
        })?;
        let token = Token {
            value,
            expires_at: parsed.token.expires_at,
            project_id,
            catalog: parsed.token.catalog,
        };
        // Check the region now: a wrong region is a registration error, and
        // saying so at the first call beats a "no endpoint" at every call.
        let regions: Vec<&str> = token
            .catalog
            .iter()
            .flat_map(|c| &c.endpoints)
            .filter_map(|e| e.region_id.as_deref().or(e.region.as_deref()))
            .collect();
        if !regions.contains(&self.config.region.as_str()) {
            let mut known = regions.clone();
            known.sort_unstable();
            known.dedup();
            return Err(DriverError::Invalid(format!(
                "{}: region '{}' is not in the service catalogue (regions there: {})",
                self.provider(),
                self.config.region,
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            )));
        }
        Ok(token)
    }

    /// The token in use, if one was issued (tests revoke it to check
    /// renewal).
    #[doc(hidden)]
    pub async fn current_token(&self) -> Option<String> {
        self.token.lock().await.as_ref().map(|t| t.value.clone())
    }

    /// The project the credential is scoped to.
    pub async fn project_id(&self) -> DriverResult<String> {
        Ok(self.token().await?.project_id.clone())
    }

    /// The endpoint of a service in the configured region and interface,
    /// or `None` when the catalogue does not list it.
    pub async fn endpoint(&self, service: Service) -> DriverResult<Option<String>> {
        let token = self.token().await?;
        Ok(find_endpoint(
            &token.catalog,
            service,
            &self.config.region,
            &self.config.interface,
        ))
    }

    /// Like [`Client::endpoint`], for a service the driver cannot work
    /// without.
    pub async fn required_endpoint(&self, service: Service) -> DriverResult<String> {
        self.endpoint(service).await?.ok_or_else(|| {
            DriverError::Invalid(format!(
                "{}: the service catalogue has no {} endpoint for region {} ({} interface)",
                self.provider(),
                service.name(),
                self.config.region,
                self.config.interface
            ))
        })
    }

    /// Sends a request to `service` at `path` (relative to its endpoint, or
    /// absolute when it starts with `http`). `what` names the object for
    /// messages. Reads and deletes are retried on transient failures; a
    /// 401 renews the token once.
    pub async fn request(
        &self,
        service: Service,
        method: Method,
        path: &str,
        microversion: Option<&str>,
        body: Option<&Value>,
        what: &str,
    ) -> DriverResult<Answer> {
        let idempotent = matches!(method, Method::GET | Method::DELETE | Method::HEAD);
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = self.token().await?;
            let base = find_endpoint(
                &token.catalog,
                service,
                &self.config.region,
                &self.config.interface,
            );
            let url = if path.starts_with("http://") || path.starts_with("https://") {
                path.to_owned()
            } else {
                let Some(base) = base else {
                    return Err(DriverError::Invalid(format!(
                        "{}: the service catalogue has no {} endpoint for region {} ({} interface)",
                        self.provider(),
                        service.name(),
                        self.config.region,
                        self.config.interface
                    )));
                };
                format!(
                    "{}/{}",
                    base.trim_end_matches('/'),
                    path.trim_start_matches('/')
                )
            };
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header("X-Auth-Token", &token.value)
                .header("Accept", "application/json");
            if let (Some(version), Some(name)) = (microversion, service.microversion_name()) {
                request = request.header("OpenStack-API-Version", format!("{name} {version}"));
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            self.calls.fetch_add(1, Ordering::Relaxed);
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    match response.text().await {
                        Ok(text) => Ok((status, text)),
                        Err(e) => Err(self.transport(service.name(), &url, e)),
                    }
                }
                Err(e) => Err(self.transport(service.name(), &url, e)),
            };
            let error = match outcome {
                Ok((status, text)) if status.is_success() => {
                    let body = if text.trim().is_empty() {
                        Value::Null
                    } else {
                        serde_json::from_str(&text).map_err(|e| {
                            DriverError::Unavailable(format!(
                                "{}: {} answered {what} with JSON that could not be read: {e}",
                                self.provider(),
                                service.name()
                            ))
                        })?
                    };
                    return Ok(Answer { status, body });
                }
                Ok((StatusCode::UNAUTHORIZED, _)) if !renewed => {
                    // The token was revoked or expired early; one fresh try.
                    self.forget_token(&token).await;
                    renewed = true;
                    attempt -= 1;
                    continue;
                }
                Ok((status, text)) => {
                    self.status_error(status, service.name(), what, error_message(&text))
                }
                Err(e) => e,
            };
            if idempotent && error.is_transient() && attempt < ATTEMPTS {
                let pause = Duration::from_millis(200 * 4u64.pow(attempt - 1));
                tracing::info!(provider = self.provider(), %error, ?pause, "retrying");
                tokio::time::sleep(pause).await;
                continue;
            }
            return Err(error);
        }
    }

    fn transport(&self, service: &str, url: &str, e: reqwest::Error) -> DriverError {
        if e.is_timeout() {
            tracing::warn!(provider = self.provider(), service, url, "time-out");
            DriverError::Timeout
        } else {
            DriverError::Unavailable(format!(
                "{}: {service} at {url} could not be reached: {}",
                self.provider(),
                error_chain(&e)
            ))
        }
    }

    fn status_error(
        &self,
        status: StatusCode,
        service: &str,
        what: &str,
        message: String,
    ) -> DriverError {
        let provider = self.provider();
        let said = if message.is_empty() {
            String::new()
        } else {
            format!(": {message}")
        };
        match status.as_u16() {
            401 => DriverError::Unauthorized(format!(
                "{provider}: {service} rejected the token for {what}{said}"
            )),
            403 if message.to_ascii_lowercase().contains("quota") => {
                DriverError::Refused(format!("{provider}: over quota for {what}{said}"))
            }
            403 => DriverError::Refused(format!(
                "{provider}: {service} does not allow {what} with this credential{said}"
            )),
            404 => DriverError::NotFound(format!("{provider}: {what}{said}")),
            409 => DriverError::Refused(format!(
                "{provider}: {what} conflicts with the object's current state{said}"
            )),
            413 => DriverError::Refused(format!("{provider}: over quota for {what}{said}")),
            400 | 422 => {
                DriverError::Invalid(format!("{provider}: {service} rejected {what}{said}"))
            }
            429 | 500..=599 => DriverError::Unavailable(format!(
                "{provider}: {service} failed {what} with HTTP {}{said}",
                status.as_u16()
            )),
            other => DriverError::Invalid(format!(
                "{provider}: {service} answered {what} with HTTP {other}{said}"
            )),
        }
    }
}

fn find_endpoint(
    catalog: &[CatalogEntry],
    service: Service,
    region: &str,
    interface: &str,
) -> Option<String> {
    service.types().iter().find_map(|t| {
        catalog
            .iter()
            .filter(|c| c.service_type == *t)
            .flat_map(|c| &c.endpoints)
            .find(|e| {
                e.interface == interface
                    && e.region_id.as_deref().or(e.region.as_deref()) == Some(region)
            })
            .map(|e| e.url.trim_end_matches('/').to_owned())
    })
}

/// The human message in an OpenStack error body. Services disagree on the
/// shape: Nova `{"forbidden": {"message": …}}`, Keystone `{"error":
/// {"message": …}}`, Placement `{"errors": [{"detail": …}]}`, Neutron
/// `{"NeutronError": {"message": …}}`; plain text from proxies.
pub fn error_message(body: &str) -> String {
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return body.trim().chars().take(300).collect();
    };
    if let Some(errors) = value.get("errors").and_then(Value::as_array) {
        let details: Vec<&str> = errors
            .iter()
            .filter_map(|e| {
                e.get("detail")
                    .or_else(|| e.get("title"))
                    .and_then(Value::as_str)
            })
            .collect();
        if !details.is_empty() {
            return details
                .join("; ")
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
        }
    }
    if let Some(object) = value.as_object() {
        for inner in object.values() {
            if let Some(message) = inner.get("message").and_then(Value::as_str) {
                return message.trim().to_owned();
            }
        }
    }
    body.trim().chars().take(300).collect()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_messages_of_each_service_are_found() {
        assert_eq!(
            error_message(
                r#"{"forbidden": {"code": 403, "message": "Quota exceeded for instances: Requested 2, but already used 999 of 1000 instances"}}"#
            ),
            "Quota exceeded for instances: Requested 2, but already used 999 of 1000 instances"
        );
        assert_eq!(
            error_message(
                r#"{"error": {"code": 401, "message": "The request you have made requires authentication.", "title": "Unauthorized"}}"#
            ),
            "The request you have made requires authentication."
        );
        assert_eq!(
            error_message(
                r#"{"errors": [{"status": 403, "title": "Forbidden", "detail": "Access was denied to this resource.\n\n Policy does not allow placement:resource_providers:list to be performed.  "}]}"#
            ),
            "Access was denied to this resource. Policy does not allow placement:resource_providers:list to be performed."
        );
        assert_eq!(error_message("502 Bad Gateway\n"), "502 Bad Gateway");
    }

    fn credentials() -> Value {
        serde_json::json!({
            "application_credential_id": "abc",
            "application_credential_secret": "s3cret",
            "region": "RegionOne",
        })
    }

    #[test]
    fn configuration_is_read_with_defaults() {
        let c = OpenStackConfig::from_provider(
            "LVRTC",
            Some("http://127.0.0.1:5000/v3/"),
            &credentials(),
        )
        .expect("valid");
        assert_eq!(c.auth_url, "http://127.0.0.1:5000/v3");
        assert_eq!(c.interface, "public");
        assert_eq!(c.networks, "auto");
        assert_eq!(c.timeout, Duration::from_secs(30));
        assert!(!format!("{c:?}").contains("s3cret"), "secret in Debug");
    }

    #[test]
    fn bad_configuration_names_the_field() {
        let err = |endpoint: Option<&str>, creds: Value| {
            OpenStackConfig::from_provider("LVRTC", endpoint, &creds)
                .expect_err("must be refused")
                .to_string()
        };
        assert!(err(None, credentials()).contains("endpoint: the Keystone URL is missing"));
        assert!(err(Some("ftp://x"), credentials()).contains("expected an http(s) Keystone URL"));
        let mut c = credentials();
        c.as_object_mut().map(|o| o.remove("region"));
        assert!(err(Some("http://k/v3"), c).contains("credentials.region is missing"));
        let mut c = credentials();
        c["interface"] = "private".into();
        assert!(err(Some("http://k/v3"), c).contains("credentials.interface: expected public"));
        let mut c = credentials();
        c["timeout_seconds"] = (-1).into();
        assert!(err(Some("http://k/v3"), c).contains("credentials.timeout_seconds"));
        let mut c = credentials();
        c["regoin"] = "x".into();
        assert!(err(Some("http://k/v3"), c).contains("unknown setting 'regoin'"));
        assert!(
            err(Some("http://k/v3"), Value::Null).contains("credentials: expected a JSON object")
        );
    }

    #[test]
    fn endpoints_are_chosen_by_region_interface_and_alias() {
        let catalog: Vec<CatalogEntry> = serde_json::from_value(serde_json::json!([
            {"type": "compute", "endpoints": [
                {"interface": "public", "region_id": "RegionTwo", "url": "http://two:8774/v2.1"},
                {"interface": "internal", "region_id": "RegionOne", "url": "http://one-int:8774/v2.1"},
                {"interface": "public", "region_id": "RegionOne", "url": "http://one:8774/v2.1/"}]},
            {"type": "volumev3", "endpoints": [
                {"interface": "public", "region": "RegionOne", "url": "http://one:8776/v3/p"}]}
        ]))
        .expect("catalogue");
        assert_eq!(
            find_endpoint(&catalog, Service::Compute, "RegionOne", "public").as_deref(),
            Some("http://one:8774/v2.1")
        );
        assert_eq!(
            find_endpoint(&catalog, Service::Compute, "RegionOne", "internal").as_deref(),
            Some("http://one-int:8774/v2.1")
        );
        assert_eq!(
            find_endpoint(&catalog, Service::BlockStorage, "RegionOne", "public").as_deref(),
            Some("http://one:8776/v3/p")
        );
        assert_eq!(
            find_endpoint(&catalog, Service::Network, "RegionOne", "public"),
            None
        );
    }
}
