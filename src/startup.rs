//! The running service: connect, migrate, verify the audit protections, seed
//! the demo, bind, serve until told to stop (in-flight requests finish).

use std::{future::Future, net::SocketAddr, sync::{Arc, OnceLock}};

use anyhow::Context;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

use sea_orm::DbBackend;

use crate::{
    config::Settings,
    jobs,
    db::{self, StatementCounter},
    graphql::{self, Limits},
    http::{self, AppState},
    service::{Services, demo},
};

pub struct Application {
    listener: TcpListener,
    /// `CASEWORK_METRICS_LISTEN`: `/metrics` alone, on its own address.
    metrics_listener: Option<TcpListener>,
    state: AppState,
    port: u16,
}

impl Application {
    /// Connects, migrates, checks the audit triggers, seeds the demo when asked,
    /// and binds the listener (port 0 picks a free port: see [`Application::port`]).
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let statements = StatementCounter::default();
        let session = db::PgSession {
            statement_timeout: settings.edge.db_statement_timeout,
            idle_in_transaction_timeout: settings.edge.db_idle_in_transaction_timeout,
        };
        let db = db::connect_with(&settings.database_url, settings.db_max_connections, &statements, session).await?;
        if settings.migrate_on_start {
            db::migrate(&db).await?;
        } else {
            db::check_migrated(&db).await?;
        }
        db::check_audit_triggers(&db).await?;
        db::check_audit_privileges(&db, settings.is_production(), settings.audit_allow_privileged_role).await?;
        crate::auth::password::warm_up();

        let settings = Arc::new(settings);
        let services = Services::new(db, settings.clone())?;
        tracing::info!(store = services.evidence.describe(), "evidence store");
        match services.evidence.clean_staging().await {
            Ok(0) => {}
            Ok(removed) => tracing::warn!(removed, "removed staged evidence files an earlier run left behind"),
            Err(error) => tracing::warn!(%error, "cleaning the evidence staging area"),
        }
        if settings.demo && demo::seed(&services).await.context("seeding the demo data")? {
            tracing::info!("demo data seeded");
        }
        let limits = Limits {
            max_depth: settings.max_query_depth,
            max_complexity: settings.max_query_complexity,
            introspection: !settings.is_production(),
            suggestions: !settings.is_production(),
            report_cost: settings.edge.report_query_cost,
        };
        let schema = graphql::schema(limits).data(services.clone()).finish();
        let listener =
            TcpListener::bind(settings.listen).await.with_context(|| format!("binding {}", settings.listen))?;
        let port = listener.local_addr()?.port();
        let metrics_listener = match settings.edge.metrics_listen {
            Some(address) => {
                Some(TcpListener::bind(address).await.with_context(|| format!("binding the metrics address {address}"))?)
            }
            None => None,
        };
        let state = AppState { services, schema, metrics: prometheus(), statements, documents: Default::default() };
        Ok(Application { listener, metrics_listener, state, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics address, when configured.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_listener.as_ref().and_then(|l| l.local_addr().ok()).map(|a| a.port())
    }

    pub fn services(&self) -> &Services {
        &self.state.services
    }

    /// Serves until `shutdown` completes, then lets in-flight requests finish.
    /// Background work runs alongside: the SLA monitor, the audit checkpoints,
    /// the evidence blob collector and, on PostgreSQL, the listeners that bring
    /// other instances' changes to local subscribers and evict cached callers
    /// (`service::auth_cache`).
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let services = self.state.services.clone();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let monitor = tokio::spawn(jobs::sla::run(services.clone(), services.settings.sla_scan_interval, stopped.clone()));
        let postgres = services.db.get_database_backend() == DbBackend::Postgres;
        let listener = postgres.then(|| tokio::spawn(services.bus.clone().listen(services.settings.database_url.clone())));
        let auth_listener = (postgres && !services.settings.auth_cache_ttl.is_zero())
            .then(|| tokio::spawn(services.auth_cache.clone().listen(services.settings.database_url.clone())));
        let checkpoints = services.settings.audit_checkpoint_interval.map(|interval| {
            jobs::checkpoints::spawn(services.clone(), interval, services.settings.audit_checkpoint_poll, stopped.clone())
        });
        let blobs = services
            .settings
            .edge
            .evidence_gc_interval
            .map(|interval| jobs::blobs::spawn(services.clone(), interval, services.settings.edge.evidence_gc_grace, stopped));

        let metrics_server = self.metrics_listener.map(|listener| {
            let router = http::metrics_router(self.state.clone());
            tokio::spawn(async move {
                if let Err(error) = axum::serve(listener, router).await {
                    tracing::error!(%error, "the metrics server stopped");
                }
            })
        });
        let router = http::router(self.state);
        let served = axum::serve(self.listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP");
        let _ = stop.send(true);
        let _ = monitor.await;
        for job in [checkpoints, blobs].into_iter().flatten() {
            let _ = job.await;
        }
        for listener in [listener, auth_listener].into_iter().flatten() {
            listener.abort();
        }
        if let Some(server) = metrics_server {
            server.abort();
        }
        served
    }
}

/// The process-wide Prometheus recorder (installed once, even when tests build
/// several applications in one process).
fn prometheus() -> Option<PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| match PrometheusBuilder::new().install_recorder() {
            Ok(handle) => Some(handle),
            Err(error) => {
                tracing::warn!(%error, "metrics recorder not installed");
                None
            }
        })
        .clone()
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
