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

use std::collections::BTreeMap;
use std::sync::Arc;

use makonis_db::{catalogue, commit, federation, orders as order_store, sagas as store};
use makonis_drivers::{Driver, DriverError, ResourceSpec, ResourceStatus};
use makonis_types::federation::ProviderId;
use makonis_types::order::{OrderId, OrderState};
use serde::{Deserialize, Serialize};
use steno::{
    ActionContext, ActionError, ActionFunc, ActionRegistry, DagBuilder, Node, SagaDag, SagaId,
    SagaName, SagaType,
};

use crate::audit::{self, Change};
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
    pub(crate) resize: Option<crate::resize::Resize>,
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
        for action in actions()
            .into_iter()
            .chain(decommission_actions())
            .chain(crate::resize::actions())
        {
            registry.register(action);
        }
        Arc::new(registry)
    }

    /// Starts provisioning an approved order; returns at once, the saga
    /// runs in the background.
    pub async fn start_provisioning(&self, order_id: OrderId) -> Result<String> {
        let (order, offering, site, provider) = {
            let mut conn = self.datastore().conn().await?;
            let order = order_store::get_order(&mut conn, order_id)
                .await?
                .ok_or(Error::NotFound { kind: "order" })?;
            let offering = catalogue::get_offering(&mut conn, order.offering_id)
                .await?
                .ok_or(Error::NotFound { kind: "offering" })?;
            let site = federation::get_site(&mut conn, offering.site_id)
                .await?
                .ok_or(Error::NotFound { kind: "site" })?;
            let provider = federation::get_provider(&mut conn, order.provider_id)
                .await?
                .ok_or(Error::NotFound { kind: "provider" })?;
            (order, offering, site, provider)
        };
        if order.state != OrderState::Approved {
            return Err(Error::Conflict {
                message: format!(
                    "only approved orders are provisioned; this one is {}",
                    order.state
                ),
            });
        }
        self.driver_for(&provider).await?;
        let params = Params {
            order_id,
            provider_id: provider.id,
            spec: ResourceSpec {
                idempotency_key: format!("makonis-order-{order_id}"),
                site: site.name.clone(),
                kind: offering.kind,
                offering: offering.name.clone(),
                quantity: order.quantity,
                tags: BTreeMap::from([
                    ("makonis.order".to_owned(), order_id.to_string()),
                    (
                        "makonis.institution".to_owned(),
                        order.institution_id.to_string(),
                    ),
                    (
                        "makonis.system".to_owned(),
                        order.information_system_id.to_string(),
                    ),
                ]),
            },
            resize: None,
        };
        let actions = actions();
        let steps = [
            ("start", "MarkProvisioning", &actions[0]),
            ("resource", "CreateResource", &actions[1]),
            ("ready", "AwaitReady", &actions[2]),
            ("record", "RecordAndActivate", &actions[3]),
        ];
        let (saga_id, done) = self.launch(PROVISION_SAGA, &steps, &params).await?;
        self.watch(saga_id, order_id, done);
        Ok(saga_id.to_string())
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

    async fn record_failure(&self, order_id: OrderId, reason: &str) -> Result<()> {
        let mut tx = self.datastore().begin().await?;
        let Some(order) = order_store::get_order(&mut tx, order_id).await? else {
            return Ok(());
        };
        // The `start` step's undo normally set `failed` already; then only the
        // reason is added. A saga that failed before its order moved (say
        // the order was cancelled meanwhile) leaves the order as it is.
        if order.state != OrderState::Failed && !order.state.can_become(OrderState::Failed) {
            return Ok(());
        }
        {
            order_store::transition(
                &mut tx,
                order_id,
                order.state,
                OrderState::Failed,
                Some(reason),
                now(),
            )
            .await?;
            audit::append(
                &mut tx,
                &OpContext::system("provisioning"),
                Change {
                    action: "order.provisioning_failed",
                    target_kind: "order",
                    target_id: order_id.to_string(),
                    target_institution: Some(order.institution_id),
                    before: None,
                    after: Some(serde_json::json!({ "state": "failed", "reason": reason })),
                },
            )
            .await?;
        }
        commit(tx).await?;
        Ok(())
    }

    /// Takes an active order's resources down: active → decommissioning →
    /// (resource deleted at the provider) → closed. The requester or the
    /// institution's order managers may ask.
    pub async fn decommission_order(&self, ctx: &OpContext, order_id: OrderId) -> Result<String> {
        let detail = self.get_order(ctx, order_id).await?;
        let order = detail.order;
        let mine = ctx.user().is_some_and(|u| u.id == order.requester_id);
        if !mine {
            crate::authz::authorize(
                ctx,
                crate::authz::Action::Update,
                crate::authz::Kind::Orders,
                crate::authz::Scope::Institution(order.institution_id),
            )?;
        }
        if !order.state.can_become(OrderState::Decommissioning) {
            return Err(Error::Conflict {
                message: format!("an order that is {} cannot be decommissioned", order.state),
            });
        }
        let provider = {
            let mut conn = self.datastore().conn().await?;
            federation::get_provider(&mut conn, order.provider_id)
                .await?
                .ok_or(Error::NotFound { kind: "provider" })?
        };
        self.driver_for(&provider).await?;
        let params = Params {
            order_id,
            provider_id: provider.id,
            spec: ResourceSpec {
                idempotency_key: format!("makonis-order-{order_id}"),
                site: String::new(),
                kind: makonis_types::catalogue::OfferingKind::Vm,
                offering: String::new(),
                quantity: order.quantity,
                tags: BTreeMap::new(),
            },
            resize: None,
        };
        let actions = decommission_actions();
        let steps = [
            ("begin", "MarkDecommissioning", &actions[0]),
            ("delete", "DeleteResource", &actions[1]),
            ("close", "RecordAndClose", &actions[2]),
        ];
        let (saga_id, done) = self.launch(DECOMMISSION_SAGA, &steps, &params).await?;
        let audit_ctx = ctx.clone();
        let app = self.clone();
        tokio::spawn(async move {
            if let Err(e) = done.await.kind {
                let reason = e
                    .error_source
                    .convert::<StepFailure>()
                    .map_or_else(|_| "decommissioning failed".to_owned(), |f| f.message);
                tracing::warn!(%order_id, %reason, "decommissioning unwound");
                let _ = app
                    .note_decommission_failure(&audit_ctx, order_id, &reason)
                    .await;
            }
        });
        Ok(saga_id.to_string())
    }

    async fn note_decommission_failure(
        &self,
        ctx: &OpContext,
        order_id: OrderId,
        reason: &str,
    ) -> Result<()> {
        let mut tx = self.datastore().begin().await?;
        let Some(order) = order_store::get_order(&mut tx, order_id).await? else {
            return Ok(());
        };
        order_store::transition(
            &mut tx,
            order_id,
            order.state,
            order.state,
            Some(reason),
            now(),
        )
        .await?;
        audit::append(
            &mut tx,
            ctx,
            Change {
                action: "order.decommission_failed",
                target_kind: "order",
                target_id: order_id.to_string(),
                target_institution: Some(order.institution_id),
                before: None,
                after: Some(serde_json::json!({ "state": order.state, "reason": reason })),
            },
        )
        .await?;
        commit(tx).await?;
        Ok(())
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

fn decommission_actions() -> Vec<Arc<dyn steno::Action<ProvisionSaga>>> {
    vec![
        ActionFunc::new_action(
            "decommission.begin",
            begin_decommission,
            undo_begin_decommission,
        ),
        // A deletion cannot be undone; it is the step after which nothing fails.
        ActionFunc::new_action("decommission.delete", delete_at_provider, nothing_to_undo),
        ActionFunc::new_action("decommission.close", close_order, nothing_to_undo),
    ]
}

async fn order_transition(
    ctx: &Ctx,
    from: OrderState,
    to: OrderState,
    action: &str,
) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let step = async {
        let mut tx = app.datastore().begin().await?;
        let order = order_store::get_order(&mut tx, p.order_id)
            .await?
            .ok_or(makonis_db::Error::NotFound)?;
        if order.state == to {
            return Ok(());
        }
        if !order_store::transition(&mut tx, p.order_id, from, to, None, now()).await? {
            return Err(makonis_db::Error::Corrupt(format!(
                "the order is {}, not {from}",
                order.state
            )));
        }
        audit::append(
            &mut tx,
            &OpContext::system("provisioning"),
            Change {
                action,
                target_kind: "order",
                target_id: p.order_id.to_string(),
                target_institution: Some(order.institution_id),
                before: Some(serde_json::json!({ "state": from })),
                after: Some(serde_json::json!({ "state": to })),
            },
        )
        .await
        .map_err(|e| makonis_db::Error::Corrupt(e.to_string()))?;
        commit(tx).await
    };
    step.await.map_err(|e| fail(e.to_string()))
}

async fn begin_decommission(ctx: Ctx) -> std::result::Result<(), ActionError> {
    order_transition(
        &ctx,
        OrderState::Active,
        OrderState::Decommissioning,
        "order.decommissioning",
    )
    .await
}

async fn undo_begin_decommission(ctx: Ctx) -> std::result::Result<(), anyhow::Error> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let mut tx = app.datastore().begin().await?;
    order_store::transition(
        &mut tx,
        p.order_id,
        OrderState::Decommissioning,
        OrderState::Active,
        None,
        now(),
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

async fn delete_at_provider(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let (provider, driver) = provider_of(app, p.provider_id).await?;
    // Deleting is idempotent at the provider; transient trouble is retried.
    let mut delay = std::time::Duration::from_millis(100);
    for attempt in 1..=5 {
        let result = async {
            if let Some(r) = driver.find(&p.spec.idempotency_key).await? {
                driver.delete(&r.id).await?;
            }
            Ok::<_, DriverError>(())
        };
        match result.await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() && attempt < 5 => {
                tracing::info!(order = %p.order_id, %e, "retrying the deletion");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => {
                return Err(driver_failure(
                    &provider.short_name,
                    "deleting the resource",
                    &e,
                ));
            }
        }
    }
    Err(fail(format!(
        "{}: the resource could not be deleted",
        provider.short_name
    )))
}

async fn close_order(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    {
        let mut tx = app
            .datastore()
            .begin()
            .await
            .map_err(|e| fail(e.to_string()))?;
        store::mark_resources_deleted(&mut tx, p.order_id, now())
            .await
            .map_err(|e| fail(e.to_string()))?;
        commit(tx).await.map_err(|e| fail(e.to_string()))?;
    }
    order_transition(
        &ctx,
        OrderState::Decommissioning,
        OrderState::Closed,
        "order.closed",
    )
    .await
}

fn actions() -> Vec<Arc<dyn steno::Action<ProvisionSaga>>> {
    vec![
        ActionFunc::new_action("provision.start", start, start_undo),
        ActionFunc::new_action("provision.resource", create_resource, delete_resource),
        ActionFunc::new_action("provision.ready", await_ready, nothing_to_undo),
        ActionFunc::new_action("provision.record", record, nothing_to_undo),
    ]
}

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

async fn start(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let mut tx = app
        .datastore()
        .begin()
        .await
        .map_err(|e| fail(e.to_string()))?;
    let order = order_store::get_order(&mut tx, p.order_id)
        .await
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail("the order is gone"))?;
    match order.state {
        // Re-running after a crash: already done.
        OrderState::Provisioning => return Ok(()),
        OrderState::Approved => {}
        other => return Err(fail(format!("the order is {other}, not approved"))),
    }
    order_store::transition(
        &mut tx,
        p.order_id,
        OrderState::Approved,
        OrderState::Provisioning,
        None,
        now(),
    )
    .await
    .map_err(|e| fail(e.to_string()))?;
    audit::append(
        &mut tx,
        &OpContext::system("provisioning"),
        Change {
            action: "order.provisioning",
            target_kind: "order",
            target_id: p.order_id.to_string(),
            target_institution: Some(order.institution_id),
            before: Some(serde_json::json!({ "state": "approved" })),
            after: Some(serde_json::json!({ "state": "provisioning", "idempotency_key": p.spec.idempotency_key })),
        },
    )
    .await
    .map_err(|e| fail(e.to_string()))?;
    commit(tx).await.map_err(|e| fail(e.to_string()))?;
    Ok(())
}

async fn start_undo(ctx: Ctx) -> std::result::Result<(), anyhow::Error> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let mut tx = app.datastore().begin().await?;
    order_store::transition(
        &mut tx,
        p.order_id,
        OrderState::Provisioning,
        OrderState::Failed,
        Some("provisioning was undone"),
        now(),
    )
    .await?;
    commit(tx).await?;
    Ok(())
}

async fn create_resource(ctx: Ctx) -> std::result::Result<String, ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let (provider, driver) = provider_of(app, p.provider_id).await?;
    let name = provider.short_name.as_str();
    // After a crash the create may already have happened.
    if let Some(existing) = driver
        .find(&p.spec.idempotency_key)
        .await
        .map_err(|e| driver_failure(name, "looking up the resource", &e))?
        && existing.status != ResourceStatus::Error
    {
        return Ok(existing.id);
    }
    match driver.create(&p.spec).await {
        Ok(resource) => Ok(resource.id),
        Err(DriverError::Timeout) => match driver.find(&p.spec.idempotency_key).await {
            Ok(Some(r)) if r.status != ResourceStatus::Error => Ok(r.id),
            _ => Err(driver_failure(
                name,
                "creating the resource",
                &DriverError::Timeout,
            )),
        },
        Err(e) => {
            // A create that failed half-way leaves a broken resource behind:
            // this step's undo will not run, so clean up here.
            if let Ok(Some(broken)) = driver.find(&p.spec.idempotency_key).await
                && let Err(cleanup) = driver.delete(&broken.id).await
            {
                tracing::error!(resource = %broken.id, %cleanup, "could not delete a half-created resource");
            }
            Err(driver_failure(name, "creating the resource", &e))
        }
    }
}

async fn delete_resource(ctx: Ctx) -> std::result::Result<(), anyhow::Error> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let (_, driver) = provider_of(app, p.provider_id)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(resource) = driver.find(&p.spec.idempotency_key).await? {
        driver.delete(&resource.id).await?;
    }
    Ok(())
}

async fn await_ready(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let id: String = ctx.lookup("resource")?;
    let (provider, driver) = provider_of(app, p.provider_id).await?;
    let deadline = tokio::time::Instant::now() + app.config().provision_timeout;
    loop {
        match driver.get(&id).await {
            Ok(Some(r)) if r.status == ResourceStatus::Active => return Ok(()),
            Ok(Some(r)) if r.status == ResourceStatus::Error => {
                return Err(fail(format!(
                    "{}: resource {id} went into error",
                    provider.short_name
                )));
            }
            Ok(None) => {
                return Err(fail(format!(
                    "{}: resource {id} disappeared while being built",
                    provider.short_name
                )));
            }
            Ok(Some(_)) => {}
            Err(e) if e.is_transient() => {
                tracing::info!(resource = %id, %e, "provider busy; asking again")
            }
            Err(e) => {
                return Err(driver_failure(
                    &provider.short_name,
                    "checking the resource",
                    &e,
                ));
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(fail(format!(
                "{}: resource {id} was not active after {} s",
                provider.short_name,
                app.config().provision_timeout.as_secs()
            )));
        }
        tokio::time::sleep(app.config().poll_interval).await;
    }
}

async fn record(ctx: Ctx) -> std::result::Result<(), ActionError> {
    let app = ctx.user_data();
    let p: Params = ctx.saga_params()?;
    let id: String = ctx.lookup("resource")?;
    let step = async {
        let mut tx = app.datastore().begin().await?;
        let order = order_store::get_order(&mut tx, p.order_id)
            .await?
            .ok_or(makonis_db::Error::NotFound)?;
        store::insert_resource(
            &mut tx,
            &store::ResourceRecord {
                id: uuid::Uuid::now_v7().to_string(),
                order_id: p.order_id,
                provider_id: p.provider_id,
                external_id: id.clone(),
                idempotency_key: p.spec.idempotency_key.clone(),
                status: "active".into(),
                created_at: now(),
                deleted_at: None,
            },
        )
        .await?;
        if order.state == OrderState::Provisioning {
            order_store::transition(
                &mut tx,
                p.order_id,
                OrderState::Provisioning,
                OrderState::Active,
                None,
                now(),
            )
            .await?;
            order_store::notify(
                &mut tx,
                order.requester_id,
                "order.active",
                Some(p.order_id),
                None,
                now(),
            )
            .await?;
            audit::append(
                &mut tx,
                &OpContext::system("provisioning"),
                Change {
                    action: "order.active",
                    target_kind: "order",
                    target_id: p.order_id.to_string(),
                    target_institution: Some(order.institution_id),
                    before: Some(serde_json::json!({ "state": "provisioning" })),
                    after: Some(serde_json::json!({ "state": "active", "resource": id })),
                },
            )
            .await
            .map_err(|e| makonis_db::Error::Corrupt(e.to_string()))?;
        }
        commit(tx).await?;
        Ok::<_, makonis_db::Error>(())
    };
    step.await.map_err(|e| fail(e.to_string()))
}

/// A difference between the registry and a provider's inventory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DriftItem {
    /// The provider's id of the resource.
    pub external_id: String,
    pub order_id: Option<OrderId>,
    pub detail: String,
}

/// Registry and provider compared, both ways (issue 3 §7).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DriftReport {
    pub provider: String,
    pub checked_at: chrono::DateTime<chrono::Utc>,
    /// Recorded as live in Mākonis, but the provider does not have them.
    pub missing_at_provider: Vec<DriftItem>,
    /// The provider has them, but Mākonis has no live record (orphans).
    pub unknown_at_provider: Vec<DriftItem>,
    /// Both know them, but the provider reports an error.
    pub in_error: Vec<DriftItem>,
}

impl DriftReport {
    pub fn is_clean(&self) -> bool {
        self.missing_at_provider.is_empty()
            && self.unknown_at_provider.is_empty()
            && self.in_error.is_empty()
    }
}

impl App {
    /// Compares the registry with the provider's inventory. For the
    /// provider's operators, the Broker and platform administrators.
    pub async fn drift(&self, ctx: &OpContext, provider_id: ProviderId) -> Result<DriftReport> {
        let provider = {
            crate::authz::authorize(
                ctx,
                crate::authz::Action::Read,
                crate::authz::Kind::Providers,
                crate::authz::Scope::Platform,
            )?;
            let mut conn = self.datastore().conn().await?;
            federation::get_provider(&mut conn, provider_id)
                .await?
                .ok_or(Error::NotFound { kind: "provider" })?
        };
        crate::authz::authorize(
            ctx,
            crate::authz::Action::Update,
            crate::authz::Kind::Providers,
            crate::federation::provider_scope(&provider),
        )?;
        let driver = self.driver_for(&provider).await?;
        let recorded = {
            let mut conn = self.datastore().conn().await?;
            store::live_resources(&mut conn, provider_id).await?
        };
        let actual = driver.list().await.map_err(|e| Error::Unavailable {
            message: format!("{}: listing resources failed: {e}", provider.short_name),
            detail: String::new(),
        })?;
        let order_of = |tags: &BTreeMap<String, String>| {
            tags.get("makonis.order").and_then(|o| o.parse().ok())
        };
        let missing_at_provider = recorded
            .iter()
            .filter(|r| !actual.iter().any(|a| a.id == r.external_id))
            .map(|r| DriftItem {
                external_id: r.external_id.clone(),
                order_id: Some(r.order_id),
                detail: format!(
                    "recorded for order {} but {} no longer has it",
                    r.order_id, provider.short_name
                ),
            })
            .collect();
        let unknown_at_provider = actual
            .iter()
            .filter(|a| !recorded.iter().any(|r| r.external_id == a.id))
            .map(|a| DriftItem {
                external_id: a.id.clone(),
                order_id: order_of(&a.tags),
                detail: format!(
                    "{} has {} ({} × {}) that Mākonis has no live record of",
                    provider.short_name, a.id, a.quantity, a.offering
                ),
            })
            .collect();
        let in_error = actual
            .iter()
            .filter(|a| {
                a.status == ResourceStatus::Error && recorded.iter().any(|r| r.external_id == a.id)
            })
            .map(|a| DriftItem {
                external_id: a.id.clone(),
                order_id: order_of(&a.tags),
                detail: format!("{} reports {} in error", provider.short_name, a.id),
            })
            .collect();
        Ok(DriftReport {
            provider: provider.short_name,
            checked_at: now(),
            missing_at_provider,
            unknown_at_provider,
            in_error,
        })
    }
}
