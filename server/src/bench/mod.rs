//! `rebound bench`: measurements of this build on this machine. Each
//! benchmark prints the machine it ran on and its figures; they are not
//! tests and assert nothing. docs/benchmarks.md records results with the
//! commands that produced them.

mod footprint;
mod machine;
mod pages;
mod reactions;
mod scheduler;
mod seed;
mod timeline;

use std::time::Duration;

use clap::{Args, Subcommand};

use crate::config::parse_duration;

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// How many HTTP monitors one process checks on time: start lag of each
    /// check after its due time, with results written to the database.
    Scheduler(SchedulerArgs),
    /// Time from the check that fails a monitor to the Heroku call its
    /// reaction sends (the sandbox on loopback stands in for Heroku).
    Reactions(ReactionsArgs),
    /// Binary size, bundle size, start-up time and idle memory.
    Footprint,
    /// Latency and throughput of signed-in pages on a seeded database,
    /// served by this binary in a second process.
    Pages(PagesArgs),
    /// Latency of one timeline page with many execution records: the first
    /// page, a deep page and each filter.
    Timeline(TimelineArgs),
}

#[derive(Debug, Args)]
pub struct SchedulerArgs {
    /// Monitors to create.
    #[arg(long, default_value_t = 10_000)]
    pub monitors: usize,
    /// Check interval of every monitor.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub interval: Duration,
    /// How long to measure after one interval of warm-up.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    pub measure: Duration,
    /// Checks running at once.
    #[arg(long, default_value_t = 256)]
    pub concurrency: usize,
    /// An empty database to use (e.g. postgres://…/bench); default a new
    /// SQLite file in a temporary directory.
    #[arg(long)]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ReactionsArgs {
    /// Monitors, each with a reaction on its own app; each gives one sample.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// An empty database to use; default a new SQLite file in a temporary
    /// directory.
    #[arg(long)]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct PagesArgs {
    /// Monitors of the benchmark team.
    #[arg(long, default_value_t = 1_000)]
    pub monitors: usize,
    /// Execution records on the timeline (at least 1,000).
    #[arg(long, default_value_t = 1_000_000)]
    pub executions: u64,
    /// Requests kept in flight at once.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// How long to load each page after one second of warm-up.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    pub duration: Duration,
    /// An empty database to use; default a new SQLite file in a temporary
    /// directory.
    #[arg(long)]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct TimelineArgs {
    /// Execution records to fill in (one state change per 100 of them).
    #[arg(long, default_value_t = 1_000_000)]
    pub executions: u64,
    /// Timed reads per case.
    #[arg(long, default_value_t = 200)]
    pub samples: usize,
    /// An empty database to use; default a new SQLite file in a temporary
    /// directory.
    #[arg(long)]
    pub database_url: Option<String>,
}

pub async fn run(command: BenchCommand) -> anyhow::Result<()> {
    println!("{}", machine::describe());
    match command {
        BenchCommand::Scheduler(args) => scheduler::run(args).await,
        BenchCommand::Reactions(args) => reactions::run(args).await,
        BenchCommand::Footprint => footprint::run().await,
        BenchCommand::Pages(args) => pages::run(args).await,
        BenchCommand::Timeline(args) => timeline::run(args).await,
    }
}

/// The value at `quantile` (0.0 to 1.0) of sorted `values`.
pub fn percentile(sorted: &[i64], quantile: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let index = ((sorted.len() as f64 - 1.0) * quantile).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_sorted_values() {
        let values: Vec<i64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), 51);
        assert_eq!(percentile(&values, 0.99), 99);
        assert_eq!(percentile(&values, 1.0), 100);
        assert_eq!(percentile(&[], 0.5), 0);
    }
}
