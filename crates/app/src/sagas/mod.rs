//! Provisioning as a saga (issue 3 §7): an approved order becomes a
//! resource at its provider through steps that each have an undo, persisted
//! in the database by Oxide's `steno` so that a crash resumes or unwinds the
//! saga on the next start, leaving no orphan at the provider.
//!
//! Steps of `provision-order`:
//! 1. `start`: the order moves approved → provisioning (undo: → failed);
//! 2. `resource`: the driver creates the resource under an idempotency key
//!    derived from the order, after first looking for one already made with
//!    that key (undo: delete it); a time-out is answered by looking it up;
//!    a create that failed half-way is cleaned up before the step fails;
//! 3. `ready`: wait until the provider reports it active;
//! 4. `record`: record the resource and move the order to active, with its
//!    audit record, in one transaction.
//!
//! `decommission-order` ([`decommission`]) and `modify-order` ([`modify`])
//! run on the same executor. This file holds the executor: steno's log in
//! our database, launching, watching and resuming sagas.

pub mod decommission;
pub mod modify;
pub mod provision;

use std::sync::Arc;

use makonis_db::{commit, federation, sagas as store};
use makonis_drivers::{Driver, DriverError, ResourceSpec};
use makonis_types::federation::ProviderId;
use makonis_types::order::OrderId;
use serde::{Deserialize, Serialize};
use steno::{
    ActionContext, ActionError, ActionRegistry, DagBuilder, Node, SagaDag, SagaId, SagaName,
    SagaType,
};

use crate::{App, Error, OpContext, Result, now};

pub const PROVISION_SAGA: &str = "provision-order";
pub const DECOMMISSION_SAGA: &str = "decommission-order";

#[derive(Debug)]
pub struct ProvisionSaga;

impl SagaType for ProvisionSaga {
    type ExecContextType = App;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Params {
    pub(crate) order_id: OrderId,
    pub(crate) provider_id: ProviderId,
    pub(crate) spec: ResourceSpec,
    /// Set for `modify-order` sagas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) resize: Option<crate::sagas::modify::Resize>,
}

/// Why a step failed, kept in the saga log and shown on the order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StepFailure {
    pub(crate) message: String,
}

pub(crate) fn fail(message: impl Into<String>) -> ActionError {
    ActionError::action_failed(StepFailure {
        message: message.into(),
    })
}

pub(crate) fn driver_failure(provider: &str, what: &str, e: &DriverError) -> ActionError {
    fail(format!("{provider}: {what}: {e}"))
}

impl App {
    async fn sec(&self) -> &steno::SecClient {
        self.inner
            .sec
            .get_or_init(|| async {
                let log = slog::Logger::root(slog::Discard, slog::o!());
                steno::sec(log, Arc::new(DbSecStore { app: self.clone() }))
            })
            .await
    }

    fn registry() -> Arc<ActionRegistry<ProvisionSaga>> {
        let mut registry = ActionRegistry::new();
        for action in provision::actions()
            .into_iter()
            .chain(decommission::actions())
            .chain(modify::actions())
        {
            registry.register(action);
        }
        Arc::new(registry)
    }

    /// Builds a linear saga from `steps`, persists it and starts it.
    pub(crate) async fn launch(
        &self,
        name: &str,
        steps: &[(&str, &str, &Arc<dyn steno::Action<ProvisionSaga>>)],
        params: &Params,
    ) -> Result<(SagaId, futures_boxed::SagaFuture)> {
        let mut builder = DagBuilder::new(SagaName::new(name));
        for (node, label, action) in steps {
            builder.append(Node::action(*node, *label, action.as_ref()));
        }
        let dag = builder.build().map_err(Error::internal)?;
        let saga_dag = Arc::new(SagaDag::new(
            dag,
            serde_json::to_value(params).map_err(Error::internal)?,
        ));
        let saga_id = SagaId(uuid::Uuid::new_v4());
        let sec = self.sec().await;
        let done = sec
            .saga_create(saga_id, Arc::new(self.clone()), saga_dag, Self::registry())
            .await
            .map_err(Error::internal)?;
        sec.saga_start(saga_id).await.map_err(Error::internal)?;
        Ok((saga_id, done))
    }

    /// After a saga ends in failure, the order says why.
    fn watch(&self, saga_id: SagaId, order_id: OrderId, done: futures_boxed::SagaFuture) {
        let app = self.clone();
        tokio::spawn(async move {
            let result = done.await;
            if let Err(e) = result.kind {
                let reason = e.error_source.convert::<StepFailure>().map_or_else(
                    |_| format!("step {:?} failed", e.error_node_name),
                    |f| f.message,
                );
                tracing::warn!(%saga_id, %order_id, %reason, "provisioning unwound");
                if let Err(err) = app.record_failure(order_id, &reason).await {
                    tracing::error!(%order_id, %err, "could not record the provisioning failure");
                }
            }
        });
    }

    /// Resumes every saga a crash left unfinished; call once at start.
    pub async fn resume_sagas(&self) -> Result<usize> {
        let unfinished = {
            let mut conn = self.datastore().conn().await?;
            store::unfinished(&mut conn).await?
        };
        let mut resumed = 0;
        for (id, name, dag) in unfinished {
            if name != PROVISION_SAGA && name != DECOMMISSION_SAGA {
                tracing::warn!(saga = %id, %name, "unknown saga kind left unfinished");
                continue;
            }
            let saga_id = SagaId(id.parse().map_err(Error::internal)?);
            let events = {
                let mut conn = self.datastore().conn().await?;
                store::events(&mut conn, &id).await?
            };
            let events: Vec<steno::SagaNodeEvent> = events
                .iter()
                .map(|e| serde_json::from_str(e))
                .collect::<std::result::Result<_, _>>()
                .map_err(Error::internal)?;
            let dag_json: serde_json::Value =
                serde_json::from_str(&dag).map_err(Error::internal)?;
            let order_id = find_order_id(&dag_json);
            let sec = self.sec().await;
            let done = sec
                .saga_resume(
                    saga_id,
                    Arc::new(self.clone()),
                    dag_json,
                    Self::registry(),
                    events,
                )
                .await
                .map_err(Error::internal)?;
            sec.saga_start(saga_id).await.map_err(Error::internal)?;
            if let Some(order_id) = order_id {
                self.watch(saga_id, order_id, done);
            }
            resumed += 1;
        }
        Ok(resumed)
    }

    /// The provider-side state of an order's resources.
    pub async fn order_resources(
        &self,
        ctx: &OpContext,
        order: OrderId,
    ) -> Result<Vec<store::ResourceRecord>> {
        self.get_order(ctx, order).await?;
        let mut conn = self.datastore().conn().await?;
        Ok(store::resources_of_order(&mut conn, order).await?)
    }
}

/// The order a serialised provisioning DAG is about: its parameters sit
/// in the DAG's start node, wherever steno's format puts that.
fn find_order_id(value: &serde_json::Value) -> Option<OrderId> {
    match value {
        serde_json::Value::Object(map) => map
            .get("order_id")
            .and_then(|v| serde_json::from_value(v.clone()).ok())
            .or_else(|| map.values().find_map(find_order_id)),
        serde_json::Value::Array(items) => items.iter().find_map(find_order_id),
        _ => None,
    }
}

pub(crate) mod futures_boxed {
    pub type SagaFuture =
        std::pin::Pin<Box<dyn std::future::Future<Output = steno::SagaResult> + Send>>;
}

/// steno's persistent log, in our database.
#[derive(Debug)]
struct DbSecStore {
    app: App,
}

#[async_trait::async_trait]
impl steno::SecStore for DbSecStore {
    async fn saga_create(
        &self,
        params: steno::SagaCreateParams,
    ) -> std::result::Result<(), anyhow::Error> {
        let mut tx = self.app.datastore().begin().await?;
        store::insert_saga(
            &mut tx,
            &params.id.to_string(),
            &params.name.to_string(),
            &params.dag.to_string(),
            &params.state.to_string(),
            now(),
        )
        .await?;
        commit(tx).await?;
        Ok(())
    }

    async fn record_event(&self, event: steno::SagaNodeEvent) {
        // steno cannot take a failure here; keep trying, as losing an event
        // would make recovery wrong.
        let text = match serde_json::to_string(&event) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(%e, "saga event does not serialise");
                return;
            }
        };
        let saga = event.saga_id.to_string();
        let mut delay = std::time::Duration::from_millis(50);
        loop {
            let attempt = async {
                let mut tx = self.app.datastore().begin().await?;
                store::append_event(&mut tx, &saga, &text, now()).await?;
                commit(tx).await?;
                Ok::<_, makonis_db::Error>(())
            };
            match attempt.await {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(%saga, %e, "recording a saga event failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(5));
                }
            }
        }
    }

    async fn saga_update(&self, id: SagaId, update: steno::SagaCachedState) {
        let attempt = async {
            let mut tx = self.app.datastore().begin().await?;
            store::update_saga_state(&mut tx, &id.to_string(), &update.to_string(), now()).await?;
            commit(tx).await?;
            Ok::<_, makonis_db::Error>(())
        };
        if let Err(e) = attempt.await {
            // The log, not this cached state, is what recovery relies on.
            tracing::warn!(saga = %id, %e, "could not update the saga's cached state");
        }
    }
}

pub(crate) type Ctx = ActionContext<ProvisionSaga>;

pub(crate) async fn nothing_to_undo(_ctx: Ctx) -> std::result::Result<(), anyhow::Error> {
    Ok(())
}

pub(crate) async fn provider_of(
    app: &App,
    id: ProviderId,
) -> std::result::Result<(makonis_types::federation::Provider, Arc<dyn Driver>), ActionError> {
    let mut conn = app
        .datastore()
        .conn()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let provider = federation::get_provider(&mut conn, id)
        .await
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail(format!("provider {id} no longer exists")))?;
    let driver = app
        .driver_for(&provider)
        .await
        .map_err(|e| fail(e.to_string()))?;
    Ok((provider, driver))
}
