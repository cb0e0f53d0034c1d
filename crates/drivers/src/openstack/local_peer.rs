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

/// A token and the catalogue and user it came with.
struct Session {
    token: String,
    catalog: Value,
    user_id: String,
}

fn peer_error(e: impl std::fmt::Display) -> DriverError {
    DriverError::Unavailable(format!("OpenStack peer: {e}"))
}

impl LocalPeer {
    async fn session(&self, auth: Value) -> DriverResult<Session> {
        let response = reqwest::Client::new()
            .post(format!("{}/auth/tokens", self.auth_url()))
            .json(&auth)
            .send()
            .await
            .map_err(peer_error)?;
        if !response.status().is_success() {
            return Err(peer_error(format!(
                "Keystone answered {}",
                response.status()
            )));
        }
        let token = response
            .headers()
            .get("X-Subject-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| peer_error("Keystone issued no token"))?;
        let issued: Value = response.json().await.map_err(peer_error)?;
        Ok(Session {
            token,
            catalog: issued["token"]["catalog"].clone(),
            user_id: issued["token"]["user"]["id"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        })
    }

    fn password_auth(&self, user: &str, password: &str, project: &str) -> Value {
        json!({"auth": {
            "identity": {"methods": ["password"], "password": {"user": {
                "name": user, "domain": {"id": "default"}, "password": password}}},
            "scope": {"project": {"name": project, "domain": {"id": "default"}}}
        }})
    }

    async fn call(
        &self,
        session: &Session,
        method: &str,
        service_type: &str,
        path: &str,
        body: Option<Value>,
    ) -> DriverResult<Value> {
        let region = self.var("OS_REGION_NAME")?;
        let base = session
            .catalog
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["type"] == service_type)
            .flat_map(|c| c["endpoints"].as_array().into_iter().flatten())
            .find(|e| e["interface"] == "public" && e["region_id"] == region)
            .and_then(|e| e["url"].as_str())
            .ok_or_else(|| peer_error(format!("no {service_type} endpoint")))?
            .trim_end_matches('/')
            .to_owned();
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|e| peer_error(format!("method {method}: {e}")))?;
        let mut request = reqwest::Client::new()
            .request(method, format!("{base}/{}", path.trim_start_matches('/')))
            .header("X-Auth-Token", &session.token);
        // Other services refuse a microversion header naming compute.
        if service_type == "compute" {
            request = request.header("OpenStack-API-Version", "compute 2.90");
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.map_err(peer_error)?;
        let status = response.status();
        let text = response.text().await.map_err(peer_error)?;
        if !status.is_success() {
            return Err(peer_error(format!("{path} answered {status}: {text}")));
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(peer_error)
    }

    async fn admin_session(&self) -> DriverResult<Session> {
        self.session(self.password_auth(
            self.var("OS_ADMIN_USERNAME")?,
            self.var("OS_ADMIN_PASSWORD")?,
            self.var("OS_ADMIN_PROJECT_NAME")?,
        ))
        .await
    }

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
        let session = self.admin_session().await?;
        self.call(&session, method, service_type, path, body).await
    }

    /// Revokes a token, as Keystone does when a credential is rotated.
    pub async fn revoke_token(&self, token: &str) -> DriverResult<()> {
        let admin = self.admin_session().await?;
        let response = reqwest::Client::new()
            .delete(format!("{}/auth/tokens", self.auth_url()))
            .header("X-Auth-Token", &admin.token)
            .header("X-Subject-Token", token)
            .send()
            .await
            .map_err(peer_error)?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(peer_error(format!(
                "revoking a token: {}",
                response.status()
            )))
        }
    }

    /// A project of its own (with a member user and an application
    /// credential) for a test that changes project-wide settings such as
    /// quotas, which would disturb tests sharing the main project. The
    /// returned peer speaks for the new project; remove it with
    /// [`LocalPeer::remove_project`].
    pub async fn isolated_project(&self, name: &str) -> DriverResult<LocalPeer> {
        let admin = self.admin_session().await?;
        let suffix = uuid::Uuid::now_v7().simple().to_string();
        let project_name = format!("{name}-{}", &suffix[20..]);
        let project = self
            .call(
                &admin,
                "POST",
                "identity",
                "projects",
                Some(json!({"project": {
                "name": project_name, "domain_id": "default"}})),
            )
            .await?["project"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| peer_error("no project id"))?;
        let password = suffix.clone();
        let user = self
            .call(
                &admin,
                "POST",
                "identity",
                "users",
                Some(json!({"user": {
                "name": project_name, "password": password, "domain_id": "default",
                "default_project_id": project}})),
            )
            .await?["user"]["id"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| peer_error("no user id"))?;
        let roles = self
            .call(&admin, "GET", "identity", "roles?name=member", None)
            .await?;
        let role = roles["roles"][0]["id"]
            .as_str()
            .ok_or_else(|| peer_error("no 'member' role"))?;
        self.call(
            &admin,
            "PUT",
            "identity",
            &format!("projects/{project}/users/{user}/roles/{role}"),
            None,
        )
        .await?;
        let own = self
            .session(self.password_auth(&project_name, &password, &project_name))
            .await?;
        let credential = self
            .call(
                &own,
                "POST",
                "identity",
                &format!("users/{user}/application_credentials"),
                // Roles named explicitly: left out, Keystone copies the token's
                // roles, which can list one twice (then refuses its own insert).
                Some(json!({"application_credential": {"name": project_name, "roles": [{"name": "member"}]}})),
            )
            .await?;
        self.speaking_as(
            &credential,
            &[
                ("OS_PROJECT_ID", project),
                ("OS_PROJECT_NAME", project_name),
                ("MAKONIS_ISOLATED_USER_ID", user),
            ],
        )
    }

    /// This peer, but with the application credential Keystone just issued
    /// (its answer) and the other settings given.
    fn speaking_as(&self, issued: &Value, settings: &[(&str, String)]) -> DriverResult<LocalPeer> {
        let credential = &issued["application_credential"];
        let mut env = self.env.clone();
        for (key, value) in [
            ("OS_APPLICATION_CREDENTIAL_ID", &credential["id"]),
            ("OS_APPLICATION_CREDENTIAL_SECRET", &credential["secret"]),
        ] {
            let value = value
                .as_str()
                .ok_or_else(|| peer_error(format!("no {key} in the new credential")))?;
            env.insert(key.to_owned(), value.to_owned());
        }
        for (key, value) in settings {
            env.insert((*key).to_owned(), value.clone());
        }
        Ok(LocalPeer {
            env,
            dir: self.dir.clone(),
        })
    }

    /// The peer as its admin sees it: an application credential of the
    /// admin user in the admin project (which may read Placement). Remove
    /// it with [`LocalPeer::remove_admin_credential`].
    pub async fn admin_credential(&self) -> DriverResult<LocalPeer> {
        let admin = self.admin_session().await?;
        let name = format!(
            "makonis-admin-{}",
            &uuid::Uuid::now_v7().simple().to_string()[20..]
        );
        let credential = self
            .call(
                &admin,
                "POST",
                "identity",
                &format!("users/{}/application_credentials", admin.user_id),
                Some(
                    json!({"application_credential": {"name": name, "roles": [{"name": "admin"}]}}),
                ),
            )
            .await?;
        self.speaking_as(
            &credential,
            &[("MAKONIS_ISOLATED_USER_ID", admin.user_id.clone())],
        )
    }

    /// Deletes a credential made by [`LocalPeer::admin_credential`].
    pub async fn remove_admin_credential(&self) -> DriverResult<()> {
        let admin = self.admin_session().await?;
        let credential = self.var("OS_APPLICATION_CREDENTIAL_ID")?.to_owned();
        self.call(
            &admin,
            "DELETE",
            "identity",
            &format!(
                "users/{}/application_credentials/{credential}",
                admin.user_id
            ),
            None,
        )
        .await
        .map(drop)
    }

    /// Sets the compute quota of this peer's project (admin).
    pub async fn set_compute_quota(&self, quota: Value) -> DriverResult<()> {
        let project = self.var("OS_PROJECT_ID")?.to_owned();
        self.admin(
            "PUT",
            "compute",
            &format!("os-quota-sets/{project}"),
            Some(json!({ "quota_set": quota })),
        )
        .await
        .map(drop)
    }

    /// Removes a project made by [`LocalPeer::isolated_project`] and its
    /// user.
    pub async fn remove_project(&self) -> DriverResult<()> {
        let project = self.var("OS_PROJECT_ID")?.to_owned();
        let user = self.var("MAKONIS_ISOLATED_USER_ID")?.to_owned();
        let admin = self.admin_session().await?;
        // The credential goes first, on its own: deleting the user deletes
        // its credentials in bulk, which on SQLite leaves their role rows
        // behind, and the next credential to get the same row id then
        // cannot be stored (keystone: "Duplicate entry").
        let credential = self.var("OS_APPLICATION_CREDENTIAL_ID")?.to_owned();
        self.call(
            &admin,
            "DELETE",
            "identity",
            &format!("users/{user}/application_credentials/{credential}"),
            None,
        )
        .await?;
        self.call(&admin, "DELETE", "identity", &format!("users/{user}"), None)
            .await?;
        self.call(
            &admin,
            "DELETE",
            "identity",
            &format!("projects/{project}"),
            None,
        )
        .await
        .map(drop)
    }
}
