//! Which driver serves a provider (REQUIREMENTS FED-1, FED-13): the
//! simulator for `sim` providers, the OpenStack driver for OpenStack clouds
//! registered with a Keystone URL and an application credential, the AWS
//! driver for AWS-compatible clouds registered with an access key (and an
//! endpoint unless it is AWS itself). Drivers are built from the provider's
//! registration and its sealed credentials, opened only here, and cached
//! per provider so a cloud's token is reused; a changed registration
//! (`updated_at`) builds a new one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use makonis_drivers::Driver;
use makonis_drivers::aws::{AwsConfig, AwsDriver};
use makonis_drivers::openstack::{OpenStackConfig, OpenStackDriver};
use makonis_drivers::sim::{SimConfig, SimDriver};
use makonis_types::federation::{PlatformFamily, Provider, ProviderId};

use crate::{App, Error, OpContext, Result};

/// A provider's driver with the registration version it was built from.
type Built = (DateTime<Utc>, Arc<dyn Driver>);

#[derive(Default)]
pub(crate) struct DriverCache {
    drivers: Mutex<HashMap<ProviderId, Built>>,
}

fn is_sim(provider: &Provider) -> bool {
    provider.platform == PlatformFamily::Sim
        || provider
            .endpoint
            .as_deref()
            .is_some_and(|e| e.starts_with("sim://"))
}

/// Whether Mākonis can drive the provider: the simulator, or a cloud whose
/// platform has a driver and whose registration has what it needs.
pub(crate) fn has_driver(provider: &Provider) -> bool {
    is_sim(provider)
        || match provider.platform {
            PlatformFamily::OpenStack => provider.endpoint.is_some() && provider.has_credentials,
            // No endpoint means AWS itself.
            PlatformFamily::AwsCompatible => provider.has_credentials,
            PlatformFamily::Nutanix | PlatformFamily::VMware | PlatformFamily::Sim => false,
        }
}

fn unavailable(provider: &Provider, message: impl std::fmt::Display) -> Error {
    Error::Unavailable {
        message: format!("{}: {message}", provider.short_name),
        detail: String::new(),
    }
}

impl App {
    /// The driver for a provider, built on first use.
    pub(crate) async fn driver_for(&self, provider: &Provider) -> Result<Arc<dyn Driver>> {
        if let Some((version, driver)) = self
            .inner
            .drivers
            .drivers
            .lock()
            .map_err(|_| Error::internal("driver registry poisoned"))?
            .get(&provider.id)
            && *version == provider.updated_at
        {
            return Ok(driver.clone());
        }
        let driver = self.build_driver(provider).await?;
        self.inner
            .drivers
            .drivers
            .lock()
            .map_err(|_| Error::internal("driver registry poisoned"))?
            .insert(provider.id, (provider.updated_at, driver.clone()));
        Ok(driver)
    }

    async fn build_driver(&self, provider: &Provider) -> Result<Arc<dyn Driver>> {
        if is_sim(provider) {
            let Some(dir) = &self.config().state_dir else {
                return Err(unavailable(
                    provider,
                    "the simulator has no state directory configured",
                ));
            };
            let config = SimConfig::from_endpoint(provider.endpoint.as_deref())
                .map_err(|e| unavailable(provider, e))?;
            return Ok(Arc::new(SimDriver::new(
                dir.join("sim").join(format!("{}.json", provider.id)),
                config,
            )));
        }
        if !has_driver(provider) {
            return Err(unavailable(
                provider,
                match provider.platform {
                    PlatformFamily::OpenStack => {
                        "register the Keystone URL as endpoint and an application credential \
                         before Mākonis can drive this OpenStack cloud"
                            .to_owned()
                    }
                    PlatformFamily::AwsCompatible => {
                        "register an access key (credentials) before Mākonis can drive this \
                         AWS-compatible cloud"
                            .to_owned()
                    }
                    other => format!("no driver for the {other} platform yet"),
                },
            ));
        }
        let credentials = self
            .provider_credentials(&OpContext::system("driver"), provider.id)
            .await?
            .unwrap_or(serde_json::Value::Null);
        let endpoint = provider.endpoint.as_deref();
        match provider.platform {
            PlatformFamily::OpenStack => {
                let config =
                    OpenStackConfig::from_provider(&provider.short_name, endpoint, &credentials)
                        .map_err(|e| Error::Unavailable {
                            message: e.to_string(),
                            detail: String::new(),
                        })?;
                let driver = OpenStackDriver::new(config).map_err(|e| unavailable(provider, e))?;
                Ok(Arc::new(driver))
            }
            PlatformFamily::AwsCompatible => {
                let config = AwsConfig::from_provider(endpoint, &credentials)
                    .map_err(|e| unavailable(provider, e))?;
                Ok(Arc::new(AwsDriver::new(config)))
            }
            other => Err(unavailable(
                provider,
                format!("no driver for the {other} platform yet"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use makonis_types::federation::ProviderKind;

    fn provider(platform: PlatformFamily, endpoint: Option<&str>, credentials: bool) -> Provider {
        Provider {
            id: ProviderId::new(),
            name: "Test".into(),
            short_name: "T".into(),
            institution_id: None,
            kind: ProviderKind::State,
            platform,
            endpoint: endpoint.map(str::to_owned),
            has_credentials: credentials,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn which_providers_have_a_driver() {
        assert!(has_driver(&provider(PlatformFamily::Sim, None, false)));
        assert!(has_driver(&provider(
            PlatformFamily::OpenStack,
            Some("sim://?delay_ms=10"),
            false
        )));
        assert!(has_driver(&provider(
            PlatformFamily::OpenStack,
            Some("http://127.0.0.1:5000/v3"),
            true
        )));
        assert!(!has_driver(&provider(
            PlatformFamily::OpenStack,
            Some("http://127.0.0.1:5000/v3"),
            false
        )));
        assert!(!has_driver(&provider(
            PlatformFamily::VMware,
            Some("https://vc"),
            true
        )));
    }
}
