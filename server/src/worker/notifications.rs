//! The notification sender: claims queued deliveries with a lease, sends
//! each, and records the attempt with its retry time. Sending happens here,
//! never in the monitor scheduler or the reaction engine, so a slow or
//! failing receiver delays nothing else.

use std::time::Duration;

use app::notifications::ssr::{RetryPolicy, attempt};
use app::state::AppState;
use app::storage::notifications::{self as store, Delivery};
use rand_core::{OsRng, RngCore};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::outage::OutageLog;

#[derive(Debug, Clone)]
pub struct NotifierConfig {
    /// Deliveries sent at once by this process.
    pub concurrency: usize,
    /// A claimed delivery's lease; longer than the slowest send (webhooks
    /// time out after 10 s, SMTP after its configured timeout).
    pub lease_ms: i64,
    /// Maximum sleep between looks for due deliveries, because other
    /// processes queue them without waking this one.
    pub poll_interval: Duration,
    pub retry: RetryPolicy,
    /// On shutdown, sends in flight get this long to finish.
    pub shutdown_grace: Duration,
}

impl Default for NotifierConfig {
    fn default() -> Self {
        NotifierConfig {
            concurrency: 8,
            lease_ms: 60_000,
            poll_interval: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

pub struct Notifier {
    state: AppState,
    config: NotifierConfig,
    owner: String,
    outage: OutageLog,
}

impl Notifier {
    pub fn new(state: AppState, config: NotifierConfig) -> Notifier {
        let owner = format!("{}-{:08x}", std::process::id(), OsRng.next_u32());
        Notifier { state, config, owner, outage: OutageLog::default() }
    }

    /// Claims the deliveries due now and attempts each; returns how many.
    pub async fn run_once(&self) -> usize {
        let deliveries = self.claim(self.config.concurrency as u32).await;
        let count = deliveries.len();
        let mut running = JoinSet::new();
        for delivery in deliveries {
            running.spawn(send(
                self.state.clone(),
                self.owner.clone(),
                delivery,
                self.config.retry,
            ));
        }
        while running.join_next().await.is_some() {}
        count
    }

    async fn claim(&self, limit: u32) -> Vec<Delivery> {
        let now = app::time::now_ms();
        match store::claim_deliveries(&self.state.db, &self.owner, now, limit, self.config.lease_ms)
            .await
        {
            Ok(deliveries) => {
                self.outage.succeeded("claiming notification deliveries");
                deliveries
            }
            Err(error) => {
                self.outage.failed("claiming notification deliveries", &error);
                Vec::new()
            }
        }
    }

    /// Runs until `shutdown` is cancelled.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(worker.owner = %self.owner, "notification sender started");
        let wakeup = self.state.notification_wakeup.clone();
        let mut running = JoinSet::new();
        loop {
            while running.try_join_next().is_some() {}
            let free = self.config.concurrency.saturating_sub(running.len()) as u32;
            let deliveries = if free > 0 { self.claim(free).await } else { Vec::new() };
            let more = free > 0 && deliveries.len() as u32 == free;
            for delivery in deliveries {
                let span = tracing::info_span!(
                    "notification",
                    delivery.id = delivery.id,
                    channel.id = delivery.channel_id
                );
                let task =
                    send(self.state.clone(), self.owner.clone(), delivery, self.config.retry);
                running.spawn(task.instrument(span));
            }
            let wait = if more { Duration::ZERO } else { self.time_until_next().await };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = wakeup.notified() => {}
                () = tokio::time::sleep(wait) => {}
                Some(_) = running.join_next(), if free == 0 => {}
            }
        }
        let drained = tokio::time::timeout(self.config.shutdown_grace, async {
            while running.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            running.abort_all();
            while running.join_next().await.is_some() {}
            // A send cut off here may have reached its receiver; retrying it
            // can deliver twice, which webhook receivers detect by the
            // delivery id.
            match store::release_deliveries_of(&self.state.db, &self.owner).await {
                Ok(released) => tracing::warn!(
                    deliveries.released = released,
                    "notification deliveries still sending at shutdown were stopped and handed back"
                ),
                Err(error) => {
                    tracing::warn!(%error, "handing back unfinished deliveries failed; their leases expire")
                }
            }
        }
        tracing::info!("notification sender stopped");
    }

    async fn time_until_next(&self) -> Duration {
        match store::next_delivery_at(&self.state.db).await {
            Ok(Some(at)) => {
                let wait = (at - app::time::now_ms()).max(0) as u64;
                Duration::from_millis(wait).min(self.config.poll_interval)
            }
            Ok(None) => self.config.poll_interval,
            Err(error) => {
                self.outage.failed("reading the next delivery time", &error);
                self.config.poll_interval
            }
        }
    }
}

async fn send(state: AppState, owner: String, delivery: Delivery, retry: RetryPolicy) {
    if let Err(error) = attempt(&state, &owner, &delivery, &retry).await {
        tracing::error!(
            %error,
            delivery.id = delivery.id,
            "recording a notification attempt failed; the delivery is retried when its lease expires"
        );
    }
}
