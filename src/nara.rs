//! The assembly: [`Nara`] is one nara built from a [`Config`] (its identity, metrics, the
//! plaza and its transport, the event hooks, the routes) and [`Nara::run`] is its one entry point, a
//! listener and a shutdown future in, how it ended out. The binary and the in-process
//! tests both start nara through `run`, so both run the very same path. Also here: the
//! socket the binary listens on and the runtime it runs on.

use crate::config::Config;
use crate::hooks;
use crate::http::config::HttpConfig;
use crate::http::health::Health;
use crate::http::routes::App;
use crate::http::server::{self, Ended};
use crate::metrics::Metrics;
use crate::open_files;
use crate::plaza::identity::{Identity, SoulSource};
use crate::plaza::state_dir::{self, StateDir};
use crate::plaza::{Plaza, transport};
use crate::systemd;
use crate::{build_info, http::assets};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tracing::Instrument;

/// How long, after the HTTP side has drained, nara waits for the plaza to take its chau.
const CHAU_WAIT: Duration = Duration::from_secs(3);

/// One nara assembled from a [`Config`], ready to [`run`](Nara::run).
pub struct Nara {
    config: Config,
    app: Arc<App>,
    /// Where the view is kept across restarts, if anywhere (already restored).
    state: Option<Arc<StateDir>>,
    /// Carries the nara's name: the lines the assembly logs (start-up, warnings,
    /// shutdown) say whose they are, and the plaza's and connections' spans nest in it.
    span: tracing::Span,
}

impl Nara {
    /// Builds the identity, metrics, plaza and routes; nothing runs yet.
    pub fn new(config: Config) -> Nara {
        // `nara` rather than `name`: a JSON line names its span under `name` already.
        let span = tracing::info_span!("nara", nara = %config.identity.name);
        let (app, state) = span.in_scope(|| Nara::assemble(&config));
        Nara {
            config,
            app,
            state,
            span,
        }
    }

    /// The state every request sees (health, metrics, the plaza), for a caller that
    /// watches nara from outside.
    pub fn app(&self) -> &Arc<App> {
        &self.app
    }

    /// Serves on `listener` until `shutdown` completes, then drains: readiness turns 503,
    /// the listener closes, requests in flight get the grace period, and the plaza says
    /// chau.
    pub async fn run(self, listener: TcpListener, shutdown: impl Future<Output = ()>) -> Ended {
        let span = self.span.clone();
        self.serve(listener, shutdown).instrument(span).await
    }

    /// The identity, metrics, plaza and routes of [`Nara::new`], with what an operator should
    /// hear about them; the view restored from the state directory, if there is one.
    fn assemble(config: &Config) -> (Arc<App>, Option<Arc<StateDir>>) {
        let identity = Identity::from_config(&config.identity);
        for warning in &config.warnings {
            tracing::warn!("{warning}");
        }
        warn_about_identity(&identity);
        let metrics = Arc::new(Metrics::new());
        let plaza = Plaza::new(identity, config.plaza.clone(), metrics.clone());
        let state = StateDir::open(&config.state, &plaza, metrics.clone()).map(Arc::new);
        let app = Arc::new(App::with_plaza(Arc::new(Health::new()), plaza, metrics, &config.http));
        (app, state)
    }

    /// [`Nara::run`] inside the nara's span.
    async fn serve(self, listener: TcpListener, shutdown: impl Future<Output = ()>) -> Ended {
        let Nara { config, app, state, .. } = self;
        let health = app.health.clone();
        let plaza = app.plaza.clone();
        // Listening before the transport starts, so that no change goes unheard.
        hooks::start(
            &plaza,
            config.hooks.clone(),
            app.metrics.clone(),
            config.identity.name.clone(),
        );
        let saver = state.clone().filter(|s| s.writes()).map(|state| {
            let saving = state_dir::save_periodically(state, plaza.clone(), config.state.save_every);
            tokio::spawn(saving.in_current_span())
        });
        let plaza_task = config.plaza.broker.clone().map(|broker| {
            let transport = transport::run(plaza.clone(), broker, health.draining_signal());
            tokio::spawn(transport.in_current_span())
        });
        health.mark_started();
        systemd::notify_ready();
        tracing::info!(
            addr = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            version = build_info::VERSION,
            revision = build_info::REVISION,
            assets = assets::count(),
            id = %plaza.identity.id,
            plaza = %config.plaza.broker.as_ref().map_or("none (running alone)".to_string(), |b| b.address()),
            open_files = open_files::soft_limit(),
            "nara listening"
        );
        let draining = health.clone();
        let shutdown = async move {
            shutdown.await;
            draining.begin_draining();
            systemd::notify_stopping();
            tracing::info!("shutting down: readiness now 503, finishing requests in flight");
        };
        let accept_errors = app.metrics.http_accept_errors.clone();
        let ended = server::serve(
            listener,
            server::app_service(app),
            shutdown,
            config.http.shutdown_grace,
            accept_errors,
        )
        .await;
        if let Some(task) = plaza_task {
            // It saw the drain begin with everyone else; this only waits for its chau.
            let _ = tokio::time::timeout(CHAU_WAIT, task).await;
        }
        if let Some(saver) = saver {
            saver.abort();
        }
        if let Some(state) = state {
            // After the chau: the view as it was when this process stopped listening.
            state_dir::save_at_shutdown(state, plaza).await;
        }
        match ended {
            Ended::Drained => tracing::info!("stopped cleanly"),
            Ended::GraceExpired { cut } => tracing::warn!(
                connections = cut,
                "grace period expired; cut the connections still open"
            ),
        }
        ended
    }
}

/// Why nara could not start serving.
#[derive(Debug)]
pub struct StartError(String);

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartError {}

/// The socket the binary serves on: a systemd-activated one if there is one, else the
/// configured address; an error names the setting that gave it, as `nara check-config`
/// does (`--http-addr`, `PORT`, `http_addr in FILE`, the default).
pub fn bind(config: &HttpConfig) -> Result<TcpListener, StartError> {
    match systemd::take_activated_listener() {
        Ok(Some(listener)) => TcpListener::from_std(listener)
            .map_err(|e| StartError(format!("cannot use the socket systemd passed (LISTEN_FDS): {e}"))),
        Ok(None) => server::listen(config.listen).map_err(|e| {
            StartError(format!(
                "cannot listen on {} (from {}): {e}",
                config.listen, config.listen_source
            ))
        }),
        Err(e) => Err(StartError(format!("cannot read LISTEN_FDS from systemd: {e}"))),
    }
}

/// One core (a small VM, a CPU quota, `taskset`): a single-threaded scheduler has no
/// cross-thread wake-ups or per-thread allocator arenas to pay for. More cores: the
/// work-stealing scheduler with a worker per core.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    let mut builder = match std::thread::available_parallelism() {
        Ok(n) if n.get() == 1 => tokio::runtime::Builder::new_current_thread(),
        _ => tokio::runtime::Builder::new_multi_thread(),
    };
    builder.enable_all().build()
}

/// Identity problems an operator should hear about; never the soul itself.
fn warn_about_identity(identity: &Identity) {
    match identity.soul_source {
        SoulSource::Native => tracing::warn!(
            "no soul configured: using one derived from this machine (its host ID and MAC addresses, as the Go \
             nara derives it); it will not survive a move to another machine (mint one with `nara soul new --name NAME` and pass it with --soul-file)"
        ),
        SoulSource::Ephemeral => tracing::warn!(
            "no soul configured and nothing to derive one from on this machine: using a random soul; this nara's \
             ID changes on every start"
        ),
        _ => {}
    }
    if let Some(advice) = &identity.bond_advice {
        tracing::warn!("{advice} (also shown in /api/status and the web UI)");
    }
}
