//! The OpenStack started on this machine by `scripts/peers/openstack-up`:
//! where its `openstack.env` is, how to read it into a provider
//! registration, and (for tests) how to reach it or skip. `makonis demo
//! --with-openstack` and the live tests share this.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::OpenStackConfig;
use crate::{DriverError, DriverResult};

/// Where `openstack-up` writes its environment unless
/// `MAKONIS_OPENSTACK_DIR` says otherwise.
pub const DEFAULT_DIR: &str = "/var/tmp/makonis-peers/openstack";

#[derive(Debug, Clone)]
pub struct LocalPeer {
    env: HashMap<String, String>,
    /// The peer's state directory (holds `openstack.env`).
    pub dir: PathBuf,
}

impl LocalPeer {
    /// The peer's directory: `MAKONIS_OPENSTACK_DIR` or the default.
    pub fn dir() -> PathBuf {
        std::env::var_os("MAKONIS_OPENSTACK_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DIR))
    }

    /// Reads `openstack.env` (`KEY=value` lines) from `dir`.
    pub fn read(dir: &Path) -> DriverResult<Self> {
        let path = dir.join("openstack.env");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            DriverError::Unavailable(format!(
                "{}: {e} (start the local OpenStack with scripts/peers/openstack-up)",
                path.display()
            ))
        })?;
        let mut env = HashMap::new();
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(DriverError::Invalid(format!(
                    "{} line {}: expected KEY=value",
                    path.display(),
                    number + 1
                )));
            };
            env.insert(key.trim().to_owned(), value.trim().to_owned());
        }
        let peer = Self {
            env,
            dir: dir.to_owned(),
        };
        for key in [
            "OS_AUTH_URL",
            "OS_REGION_NAME",
            "OS_APPLICATION_CREDENTIAL_ID",
            "OS_APPLICATION_CREDENTIAL_SECRET",
        ] {
            peer.var(key)?;
        }
        Ok(peer)
    }

    /// The running peer for a test, or `None` (with a message) when it is
    /// not there; with `MAKONIS_REQUIRE_PEERS=1` a missing peer fails the
    /// test instead.
    pub fn for_test() -> Option<Self> {
        match Self::read(&Self::dir()) {
            Ok(peer) => Some(peer),
            Err(e) if std::env::var("MAKONIS_REQUIRE_PEERS").as_deref() == Ok("1") => {
                panic!("the OpenStack peer is required (MAKONIS_REQUIRE_PEERS=1): {e}")
            }
            Err(e) => {
                eprintln!("skipped: no OpenStack peer: {e}");
                None
            }
        }
    }

    pub fn var(&self, key: &str) -> DriverResult<&str> {
        self.env.get(key).map(String::as_str).ok_or_else(|| {
            DriverError::Invalid(format!("{}/openstack.env has no {key}", self.dir.display()))
        })
    }

    /// Keystone's URL: the provider's endpoint.
    pub fn auth_url(&self) -> &str {
        self.env.get("OS_AUTH_URL").map_or("", String::as_str)
    }

    /// The provider's credentials JSON for this peer: its application
    /// credential, region, the test image, and no networks (the peer has
    /// no Neutron).
    pub fn credentials(&self) -> Value {
        let get = |k: &str| self.env.get(k).cloned().unwrap_or_default();
        json!({
            "application_credential_id": get("OS_APPLICATION_CREDENTIAL_ID"),
            "application_credential_secret": get("OS_APPLICATION_CREDENTIAL_SECRET"),
            "region": get("OS_REGION_NAME"),
            "image": "cirros-fake",
            "networks": "none",
        })
    }

    pub fn config(&self, provider: &str) -> DriverResult<OpenStackConfig> {
        OpenStackConfig::from_provider(provider, Some(self.auth_url()), &self.credentials())
    }

    /// Moves the launch time of servers back by `hours` in the peer's nova
    /// database (`scripts/peers/openstack-backdate`), so usage reports
    /// whole hours at once. Returns how many servers were changed.
    pub fn backdate(&self, scripts: &Path, hours: u32, server_ids: &[&str]) -> DriverResult<u64> {
        let output = std::process::Command::new(scripts.join("peers/openstack-backdate"))
            .arg(hours.to_string())
            .args(server_ids)
            .env("MAKONIS_OPENSTACK_DIR", &self.dir)
            .output()
            .map_err(|e| DriverError::Unavailable(format!("openstack-backdate: {e}")))?;
        if !output.status.success() {
            return Err(DriverError::Unavailable(format!(
                "openstack-backdate failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )));
        }
        String::from_utf8_lossy(&output.stdout)
            .trim()
            .parse()
            .map_err(|e| DriverError::Unavailable(format!("openstack-backdate printed: {e}")))
    }
}

impl LocalPeer {
    /// A request as the peer's admin (password, admin project), for tests
    /// that change the cloud the way its operator would: flavours,
    /// quotas. Answers with the JSON body (`Null` when empty).
    pub async fn admin(
        &self,
        method: &str,
        service_type: &str,
        path: &str,
        body: Option<Value>,
    ) -> DriverResult<Value> {
        let unavailable =
            |e: String| DriverError::Unavailable(format!("OpenStack peer admin: {e}"));
        let http = reqwest::Client::new();
        let auth = json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": self.var("OS_ADMIN_USERNAME")?,
                "domain": {"name": self.var("OS_USER_DOMAIN_NAME").unwrap_or("Default")},
                "password": self.var("OS_ADMIN_PASSWORD")?}}},
            "scope": {"project": {
                "name": self.var("OS_ADMIN_PROJECT_NAME")?,
                "domain": {"name": self.var("OS_PROJECT_DOMAIN_NAME").unwrap_or("Default")}}}
        }});
        let response = http
            .post(format!("{}/auth/tokens", self.auth_url()))
            .json(&auth)
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!(
                "Keystone answered {}",
                response.status()
            )));
        }
        let token = response
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| unavailable("no token".into()))?;
        let issued: Value = response
            .json()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let region = self.var("OS_REGION_NAME")?;
        let base = issued["token"]["catalog"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["type"] == service_type)
            .flat_map(|c| c["endpoints"].as_array().into_iter().flatten())
            .find(|e| e["interface"] == "public" && e["region_id"] == region)
            .and_then(|e| e["url"].as_str())
            .ok_or_else(|| unavailable(format!("no {service_type} endpoint")))?
            .trim_end_matches('/')
            .to_owned();
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| unavailable(format!("method {method}: {e}")))?;
        let mut request = http
            .request(method, format!("{base}/{}", path.trim_start_matches('/')))
            .header("X-Auth-Token", token)
            .header("OpenStack-API-Version", "compute 2.90");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !status.is_success() {
            return Err(unavailable(format!("{path} answered {status}: {text}")));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|e| unavailable(e.to_string()))
    }
}
