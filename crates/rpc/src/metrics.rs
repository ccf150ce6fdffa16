//! Prometheus metrics of a running node ([`serve_metrics`]), in the
//! OpenMetrics text format at `GET /metrics`.
//!
//! | metric | type | what |
//! |---|---|---|
//! | `tau_peers` | gauge | peers known |
//! | `tau_head_height` | gauge | block number of the head |
//! | `tau_safety_height` | gauge | block number of the safety point (0 before one) |
//! | `tau_mempool_transactions` | gauge | transactions in the mempool |
//! | `tau_blocks_mined_total` | counter | blocks this node produced |
//! | `tau_head_changes_total` | counter | head moves to a peer's chain |
//! | `tau_reorg_depth` | histogram | blocks unwound per head change |
//! | `tau_safety_advances_total` | counter | safety point moves |
//! | `tau_peers_marked_total` | counter | peers marked dishonest |
//! | `tau_graphsync_requests_received_total` | counter | Graphsync requests from peers |
//! | `tau_graphsync_bytes_sent_total` | counter | Graphsync bytes sent |
//! | `tau_graphsync_blocks_sent_total` | counter | Graphsync blocks sent (chain and attachment data served) |
//! | `tau_graphsync_busy_total` | counter | Graphsync requests refused as busy |
//! | `tau_graphsync_bytes_received_total` | counter | Graphsync bytes received (message bodies) |
//! | `tau_views_counted_total` | counter | peers' chain views validated and counted in the vote |
//! | `tau_views_refused_total` | counter | peers' chain views refused (forged, future-dated) |
//! | `tau_attachment_bytes_served_total` | counter | attachment bytes served to visitors |

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use tau_node::{NodeEvent, NodeHandle};
use tokio::sync::broadcast::error::RecvError;

use crate::{Error, Result};

/// How often the gauges are read from the node.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(1);

/// The node's metrics.
#[derive(Default)]
struct Metrics {
    peers: Gauge,
    head_height: Gauge,
    safety_height: Gauge,
    mempool: Gauge,
    mined: Counter,
    head_changes: Counter,
    safety_advances: Counter,
    peers_marked: Counter,
    gs_requests: Counter,
    gs_bytes_sent: Counter,
    gs_blocks_sent: Counter,
    gs_busy: Counter,
    gs_bytes_received: Counter,
    views_counted: Counter,
    views_refused: Counter,
    attachment_bytes_served: Counter,
}

impl Metrics {
    fn register(&self, registry: &mut Registry, reorg: Histogram) {
        let r = registry;
        r.register("tau_peers", "Peers known", self.peers.clone());
        r.register(
            "tau_head_height",
            "Block number of the head",
            self.head_height.clone(),
        );
        r.register(
            "tau_safety_height",
            "Block number of the safety point (0 before one)",
            self.safety_height.clone(),
        );
        r.register(
            "tau_mempool_transactions",
            "Transactions in the mempool",
            self.mempool.clone(),
        );
        r.register(
            "tau_blocks_mined",
            "Blocks this node produced",
            self.mined.clone(),
        );
        r.register(
            "tau_head_changes",
            "Head moves to a peer's chain",
            self.head_changes.clone(),
        );
        r.register("tau_reorg_depth", "Blocks unwound per head change", reorg);
        r.register(
            "tau_safety_advances",
            "Safety point moves",
            self.safety_advances.clone(),
        );
        r.register(
            "tau_peers_marked",
            "Peers marked dishonest",
            self.peers_marked.clone(),
        );
        r.register(
            "tau_graphsync_requests_received",
            "Graphsync requests from peers",
            self.gs_requests.clone(),
        );
        r.register(
            "tau_graphsync_bytes_sent",
            "Graphsync bytes sent",
            self.gs_bytes_sent.clone(),
        );
        r.register(
            "tau_graphsync_blocks_sent",
            "Graphsync blocks sent",
            self.gs_blocks_sent.clone(),
        );
        r.register(
            "tau_graphsync_busy",
            "Graphsync requests refused as busy",
            self.gs_busy.clone(),
        );
        r.register(
            "tau_graphsync_bytes_received",
            "Graphsync bytes received (message bodies)",
            self.gs_bytes_received.clone(),
        );
        r.register(
            "tau_views_counted",
            "Peers' chain views validated and counted in the vote",
            self.views_counted.clone(),
        );
        r.register(
            "tau_views_refused",
            "Peers' chain views refused (forged, future-dated)",
            self.views_refused.clone(),
        );
        r.register(
            "tau_attachment_bytes_served",
            "Attachment bytes served to visitors",
            self.attachment_bytes_served.clone(),
        );
    }

    /// Reads the gauges and the Graphsync counters from the node.
    fn sample(&self, node: &NodeHandle) {
        self.peers.set(gauge(node.peers().len() as u64));
        self.head_height.set(gauge(node.head().number));
        self.safety_height
            .set(gauge(node.safety().map_or(0, |s| s.number)));
        self.mempool.set(gauge(node.mempool_size() as u64));
        let stats = node.graphsync_stats();
        catch_up(&self.gs_requests, stats.requests_received);
        catch_up(&self.gs_bytes_sent, stats.bytes_sent);
        catch_up(&self.gs_blocks_sent, stats.blocks_sent);
        catch_up(&self.gs_busy, stats.busy);
        catch_up(&self.gs_bytes_received, stats.bytes_received);
        let counters = node.counters();
        catch_up(&self.views_counted, counters.views_counted);
        catch_up(&self.views_refused, counters.views_refused);
        catch_up(
            &self.attachment_bytes_served,
            counters.attachment_bytes_served,
        );
    }
}

fn gauge(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Brings a counter up to a total the node keeps itself.
fn catch_up(counter: &Counter<u64, AtomicU64>, total: u64) {
    let seen = counter.get();
    if total > seen {
        counter.inc_by(total - seen);
    }
}

/// The metrics endpoint and its sampler; both stop when this is dropped.
pub struct MetricsServer {
    addr: SocketAddr,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl MetricsServer {
    /// Where it listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Serves the metrics of `node` on `addr` and keeps them current, until the
/// returned server is dropped.
pub async fn serve_metrics(node: NodeHandle, addr: SocketAddr) -> Result<MetricsServer> {
    let metrics = Arc::new(Metrics::default());
    // Buckets: 0, 1, 2, 4, … 512 blocks.
    let reorg = Histogram::new([
        0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0,
    ]);
    let mut registry = Registry::default();
    metrics.register(&mut registry, reorg.clone());
    let registry = Arc::new(registry);

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| Error::Serve(format!("binding {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Error::Serve(e.to_string()))?;
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let registry = registry.clone();
            async move { render(&registry) }
        }),
    );
    let server = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("metrics endpoint: {e}");
        }
    });

    let mut events = node.events();
    let sampler = tokio::spawn(async move {
        let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
        loop {
            tokio::select! {
                _ = tick.tick() => metrics.sample(&node),
                event = events.recv() => match event {
                    Ok(NodeEvent::Mined { .. }) => {
                        metrics.mined.inc();
                    }
                    Ok(NodeEvent::HeadChanged { reorg_depth, .. }) => {
                        metrics.head_changes.inc();
                        reorg.observe(reorg_depth as f64);
                    }
                    Ok(NodeEvent::SafetyAdvanced(_)) => {
                        metrics.safety_advances.inc();
                    }
                    Ok(NodeEvent::PeerMarked { .. }) => {
                        metrics.peers_marked.inc();
                    }
                    Ok(_) => {}
                    // Fell behind the event stream: counts may miss some.
                    Err(RecvError::Lagged(missed)) => {
                        tracing::debug!(missed, "metrics missed node events");
                    }
                    Err(RecvError::Closed) => break,
                },
            }
        }
    });
    tracing::info!(%bound, "metrics listening");
    Ok(MetricsServer {
        addr: bound,
        tasks: vec![server, sampler],
    })
}

fn render(registry: &Registry) -> axum::response::Response {
    let mut body = String::new();
    match encode(&mut body, registry) {
        Ok(()) => (
            [(
                CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            body,
        )
            .into_response(),
        Err(e) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics: {e}"),
        )
            .into_response(),
    }
}
