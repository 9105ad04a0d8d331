//! Planning a reaction's next step: given the app's live state at Heroku and
//! the reaction's settings, what one step to take, or why to take none.
//! Pure code without I/O; execution (reading Heroku, calling it, recording)
//! wraps it.

use serde::{Deserialize, Serialize};

use super::settings::ReactionSettings;
use crate::heroku::sizes::{DynoSize, ProcessLine, check_formation, parse_size};
use crate::heroku::types::{Dyno, Formation, Release};

/// What Heroku says about the app right now. Only the parts a reaction's
/// kind needs are read: formation for scaling, dynos for restarts, releases
/// for rollbacks.
#[derive(Debug, Clone, Copy)]
pub struct LiveState<'a> {
    pub formation: &'a [Formation],
    pub dynos: &'a [Dyno],
    /// Newest first or in any order; planning sorts by version itself.
    pub releases: &'a [Release],
    pub in_private_space: bool,
}

/// One call to Heroku.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum Step {
    SetQuantity {
        process_type: String,
        from: u32,
        to: u32,
    },
    SetSize {
        process_type: String,
        from: DynoSize,
        to: DynoSize,
        quantity: u32,
    },
    RestartDyno {
        name: String,
    },
    RestartAll,
    /// Roll back to the release with `release_id` (addressed by id, as the
    /// API requires), whose code is `target_version`.
    Rollback {
        release_id: String,
        target_version: i64,
        running_version: i64,
        current_version: i64,
    },
    RunOneOff {
        command: String,
        size: Option<DynoSize>,
        time_to_live_secs: Option<u32>,
    },
}

/// The decision for one trigger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Plan {
    /// Call Heroku; `summary` reads like "web 2 → 3".
    Act { step: Step, summary: String },
    /// A bound of the reaction is reached: nothing to do.
    AtBound { summary: String },
    /// The step cannot be taken: Heroku would reject it, or what it acts on
    /// does not exist. Nothing is sent.
    Refuse { reason: String },
}

/// Plans the next step of a reaction. Every bound is checked against what
/// Heroku reports now, so a person who scaled by hand is respected.
pub fn plan(settings: &ReactionSettings, live: &LiveState<'_>) -> Plan {
    match settings {
        ReactionSettings::ScaleOut { process_type, max_quantity } => {
            plan_quantity(live, process_type, |quantity| {
                if quantity >= *max_quantity {
                    Err(bound_message(process_type, quantity, "max", *max_quantity))
                } else {
                    Ok(quantity + 1)
                }
            })
        }
        ReactionSettings::ScaleIn { process_type, min_quantity } => {
            plan_quantity(live, process_type, |quantity| {
                if quantity <= *min_quantity {
                    Err(bound_message(process_type, quantity, "min", *min_quantity))
                } else {
                    Ok(quantity - 1)
                }
            })
        }
        ReactionSettings::ScaleUp { process_type, max_size } => {
            plan_size(live, process_type, *max_size, Direction::Up)
        }
        ReactionSettings::ScaleDown { process_type, min_size } => {
            plan_size(live, process_type, *min_size, Direction::Down)
        }
        ReactionSettings::RestartDyno { dyno_name } => plan_restart_dyno(live, dyno_name),
        ReactionSettings::RestartAll => Plan::Act {
            step: Step::RestartAll,
            summary: match live.dynos.len() {
                1 => "restart the app's only dyno".to_string(),
                count => format!("restart all {count} dynos"),
            },
        },
        ReactionSettings::Rollback { min_release_version } => {
            plan_rollback(live, *min_release_version)
        }
        ReactionSettings::OneOff { command, size, time_to_live_secs } => {
            let size_note = size.map(|size| format!(" on {size}")).unwrap_or_default();
            Plan::Act {
                step: Step::RunOneOff {
                    command: command.clone(),
                    size: *size,
                    time_to_live_secs: *time_to_live_secs,
                },
                summary: format!("run `{command}`{size_note}"),
            }
        }
    }
}

fn bound_message(process_type: &str, quantity: u32, which: &str, bound: u32) -> String {
    if quantity == bound {
        format!("{process_type} is at {which} {bound}")
    } else {
        let side = if which == "max" { "above" } else { "below" };
        format!("{process_type} is at {quantity}, {side} {which} {bound}")
    }
}

/// The formation as the rules see it, or the reason it cannot be read.
fn process_lines(live: &LiveState<'_>) -> Result<Vec<ProcessLine>, String> {
    live.formation
        .iter()
        .map(|entry| {
            let size = parse_size(&entry.size)
                .map_err(|_| {
                    format!(
                        "Heroku reports size {:?} for {}, which Rebound does not know",
                        entry.size, entry.process_type
                    )
                })?
                .size;
            Ok(ProcessLine {
                process_type: entry.process_type.clone(),
                size,
                quantity: entry.quantity,
            })
        })
        .collect()
}

fn missing_process_type(live: &LiveState<'_>, process_type: &str) -> Plan {
    let known: Vec<&str> = live.formation.iter().map(|entry| entry.process_type.as_str()).collect();
    let known = if known.is_empty() { "none".to_string() } else { known.join(", ") };
    Plan::Refuse {
        reason: format!(
            "process type {process_type} does not exist in the app's formation (it has: {known})"
        ),
    }
}

fn plan_quantity(
    live: &LiveState<'_>,
    process_type: &str,
    next: impl Fn(u32) -> Result<u32, String>,
) -> Plan {
    let mut lines = match process_lines(live) {
        Ok(lines) => lines,
        Err(reason) => return Plan::Refuse { reason },
    };
    let Some(line) = lines.iter_mut().find(|line| line.process_type == process_type) else {
        return missing_process_type(live, process_type);
    };
    let from = line.quantity;
    let to = match next(from) {
        Ok(to) => to,
        Err(summary) => return Plan::AtBound { summary },
    };
    line.quantity = to;
    if let Err(rule) = check_formation(&lines, live.in_private_space, 0) {
        return Plan::Refuse {
            reason: format!("Heroku would reject {process_type} {from} → {to}: {rule}"),
        };
    }
    Plan::Act {
        step: Step::SetQuantity { process_type: process_type.to_string(), from, to },
        summary: format!("{process_type} {from} → {to}"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Up,
    Down,
}

fn plan_size(
    live: &LiveState<'_>,
    process_type: &str,
    bound: DynoSize,
    direction: Direction,
) -> Plan {
    let mut lines = match process_lines(live) {
        Ok(lines) => lines,
        Err(reason) => return Plan::Refuse { reason },
    };
    let Some(line) = lines.iter_mut().find(|line| line.process_type == process_type) else {
        return missing_process_type(live, process_type);
    };
    let from = line.size;
    let (Some(rank), Some(bound_rank)) = (from.rank(), bound.rank()) else {
        return Plan::Refuse {
            reason: format!(
                "{process_type} runs on {from} dynos; scaling up and down moves along Standard and Performance (or Private) sizes, and an app on Eco or Basic must move every process type at once"
            ),
        };
    };
    if from.ladder() != bound.ladder() {
        let which = if direction == Direction::Up { "maximum" } else { "minimum" };
        return Plan::Refuse {
            reason: format!(
                "{process_type} runs on {from}, which is not on the same ladder as the {which} size {bound}"
            ),
        };
    }
    let (at_bound, next) = match direction {
        Direction::Up => (rank >= bound_rank, from.step_up()),
        Direction::Down => (rank <= bound_rank, from.step_down()),
    };
    let which = if direction == Direction::Up { "max" } else { "min" };
    if at_bound {
        let summary = if rank == bound_rank {
            format!("{process_type} is at {which} size {bound}")
        } else {
            let side = if direction == Direction::Up { "above" } else { "below" };
            format!("{process_type} is on {from}, {side} {which} size {bound}")
        };
        return Plan::AtBound { summary };
    }
    let Some(to) = next else {
        return Plan::AtBound {
            summary: format!("{process_type} is on {from}, the end of its size ladder"),
        };
    };
    line.size = to;
    let quantity = line.quantity;
    if let Err(rule) = check_formation(&lines, live.in_private_space, 0) {
        return Plan::Refuse {
            reason: format!("Heroku would reject {process_type} {from} → {to}: {rule}"),
        };
    }
    Plan::Act {
        step: Step::SetSize { process_type: process_type.to_string(), from, to, quantity },
        summary: format!("{process_type} {from} → {to}"),
    }
}

fn plan_restart_dyno(live: &LiveState<'_>, dyno_name: &str) -> Plan {
    if live.dynos.iter().any(|dyno| dyno.name == dyno_name) {
        return Plan::Act {
            step: Step::RestartDyno { name: dyno_name.to_string() },
            summary: format!("restart {dyno_name}"),
        };
    }
    let mut names: Vec<&str> = live.dynos.iter().map(|dyno| dyno.name.as_str()).collect();
    names.sort_unstable();
    let running = if names.is_empty() { "no dynos".to_string() } else { names.join(", ") };
    Plan::Refuse { reason: format!("dyno {dyno_name} does not exist (the app runs {running})") }
}

/// The version N in a release description "Rollback to vN".
fn rollback_source(description: &str) -> Option<i64> {
    description.trim().strip_prefix("Rollback to v")?.trim().parse().ok()
}

/// The release whose code an app runs: the current release, or for a
/// rollback release the one it copied (followed through chains of rollbacks
/// as far as the listed releases go).
fn code_version(releases: &[Release], current: &Release) -> i64 {
    let mut version = current.version;
    let mut description = current.description.as_str();
    // A chain longer than the list cannot be followed further.
    for _ in 0..releases.len() {
        let Some(source) = rollback_source(description) else { break };
        version = source;
        match releases.iter().find(|release| release.version == source) {
            Some(release) => description = release.description.as_str(),
            None => break,
        }
    }
    version
}

fn plan_rollback(live: &LiveState<'_>, min_release_version: i64) -> Plan {
    let releases = live.releases;
    // The running release: the one Heroku marks current, else the newest
    // that succeeded (older API responses lack `current`).
    let current = releases
        .iter()
        .filter(|release| release.current)
        .max_by_key(|release| release.version)
        .or_else(|| {
            releases
                .iter()
                .filter(|release| release.status == "succeeded")
                .max_by_key(|release| release.version)
        });
    let Some(current) = current else {
        return Plan::Refuse {
            reason: "the app has no succeeded release to roll back from".to_string(),
        };
    };
    let running = code_version(releases, current);
    if running <= min_release_version {
        return Plan::AtBound {
            summary: format!(
                "running code of v{running} is at or below the minimum release v{min_release_version}"
            ),
        };
    }
    let target = releases
        .iter()
        .filter(|release| {
            release.version < running
                && release.status == "succeeded"
                && release.eligible_for_rollback != Some(false)
                && !release.current
        })
        .max_by_key(|release| release.version);
    let Some(target) = target else {
        return Plan::AtBound {
            summary: format!("no succeeded release older than v{running} can be rolled back to"),
        };
    };
    if target.version < min_release_version {
        return Plan::AtBound {
            summary: format!(
                "the next target v{} is below the minimum release v{min_release_version}",
                target.version
            ),
        };
    }
    let newest = releases.iter().map(|release| release.version).max().unwrap_or(current.version);
    let running_note =
        if running == current.version { String::new() } else { format!(" (running v{running})") };
    Plan::Act {
        step: Step::Rollback {
            release_id: target.id.clone(),
            target_version: target.version,
            running_version: running,
            current_version: current.version,
        },
        summary: format!(
            "release v{}{running_note} → v{} (new v{})",
            current.version,
            target.version,
            newest + 1
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn formation(lines: &[(&str, u32, &str)]) -> Vec<Formation> {
        lines
            .iter()
            .map(|(process_type, quantity, size)| Formation {
                id: format!("formation-{process_type}"),
                process_type: process_type.to_string(),
                quantity: *quantity,
                size: size.to_string(),
                dyno_size: None,
                command: String::new(),
                updated_at: None,
            })
            .collect()
    }

    fn dynos(names: &[&str]) -> Vec<Dyno> {
        names
            .iter()
            .map(|name| Dyno {
                id: format!("dyno-{name}"),
                name: name.to_string(),
                process_type: name.split('.').next().unwrap().to_string(),
                state: "up".into(),
                size: "Standard-1X".into(),
                command: String::new(),
                release: None,
                created_at: None,
                updated_at: None,
            })
            .collect()
    }

    /// Releases from (version, status, description, current, eligible).
    fn releases(list: &[(i64, &str, &str, bool, Option<bool>)]) -> Vec<Release> {
        list.iter()
            .map(|(version, status, description, current, eligible)| Release {
                id: format!("release-{version}"),
                version: *version,
                status: status.to_string(),
                description: description.to_string(),
                current: *current,
                eligible_for_rollback: *eligible,
                created_at: None,
                user: None,
            })
            .collect()
    }

    fn live<'a>(
        formation: &'a [Formation],
        dynos: &'a [Dyno],
        releases: &'a [Release],
    ) -> LiveState<'a> {
        LiveState { formation, dynos, releases, in_private_space: false }
    }

    fn summary(plan: &Plan) -> String {
        match plan {
            Plan::Act { summary, .. } => format!("act: {summary}"),
            Plan::AtBound { summary } => format!("bound: {summary}"),
            Plan::Refuse { reason } => format!("refuse: {reason}"),
        }
    }

    #[test]
    fn scale_out_and_in_table() {
        let out =
            |max| ReactionSettings::ScaleOut { process_type: "web".into(), max_quantity: max };
        let scale_in =
            |min| ReactionSettings::ScaleIn { process_type: "web".into(), min_quantity: min };
        let cases: Vec<(ReactionSettings, Vec<(&str, u32, &str)>, &str)> = vec![
            (out(3), vec![("web", 1, "standard-1x")], "act: web 1 → 2"),
            (out(3), vec![("web", 2, "Standard-1X")], "act: web 2 → 3"),
            (out(3), vec![("web", 3, "standard-1x")], "bound: web is at max 3"),
            (out(3), vec![("web", 5, "standard-1x")], "bound: web is at 5, above max 3"),
            (out(3), vec![("web", 0, "standard-1x")], "act: web 0 → 1"),
            (
                out(3),
                vec![("worker", 1, "standard-1x")],
                "refuse: process type web does not exist in the app's formation (it has: worker)",
            ),
            (
                out(3),
                vec![("web", 1, "basic")],
                "refuse: Heroku would reject web 1 → 2: Cannot update to more than 1 Basic size dynos per process type.",
            ),
            (
                out(20),
                vec![("web", 10, "performance-m")],
                "refuse: Heroku would reject web 10 → 11: Cannot update to more than 10 Performance-M size dynos per process type.",
            ),
            (scale_in(0), vec![("web", 1, "standard-1x")], "act: web 1 → 0"),
            (scale_in(0), vec![("web", 0, "standard-1x")], "bound: web is at min 0"),
            (scale_in(2), vec![("web", 1, "standard-1x")], "bound: web is at 1, below min 2"),
            (
                scale_in(1),
                vec![("web", 4, "standard-2x"), ("worker", 2, "standard-1x")],
                "act: web 4 → 3",
            ),
        ];
        for (settings, lines, expected) in cases {
            let formation = formation(&lines);
            assert_eq!(
                summary(&plan(&settings, &live(&formation, &[], &[]))),
                expected,
                "{settings:?} on {lines:?}"
            );
        }
    }

    #[test]
    fn scale_up_and_down_table() {
        let up = |max| ReactionSettings::ScaleUp { process_type: "web".into(), max_size: max };
        let down = |min| ReactionSettings::ScaleDown { process_type: "web".into(), min_size: min };
        use DynoSize::*;
        let cases: Vec<(ReactionSettings, Vec<(&str, u32, &str)>, &str)> = vec![
            (
                up(PerformanceL),
                vec![("web", 2, "standard-1x")],
                "act: web Standard-1X → Standard-2X",
            ),
            (
                up(PerformanceL),
                vec![("web", 2, "Standard-2X")],
                "act: web Standard-2X → Performance-M",
            ),
            (
                up(PerformanceL),
                vec![("web", 2, "performance-l")],
                "bound: web is at max size Performance-L",
            ),
            (
                up(Standard2X),
                vec![("web", 2, "performance-m")],
                "bound: web is on Performance-M, above max size Standard-2X",
            ),
            (
                up(Performance2XL),
                vec![("web", 1, "performance-2xl")],
                "bound: web is at max size Performance-2XL",
            ),
            (
                up(PerformanceL),
                vec![("web", 1, "basic")],
                "refuse: web runs on Basic dynos; scaling up and down moves along Standard and Performance (or Private) sizes, and an app on Eco or Basic must move every process type at once",
            ),
            (
                up(PerformanceM),
                vec![("web", 12, "standard-2x")],
                "refuse: Heroku would reject web Standard-2X → Performance-M: Cannot update to more than 10 Performance-M size dynos per process type.",
            ),
            (
                up(PrivateL),
                vec![("web", 1, "standard-1x")],
                "refuse: web runs on Standard-1X, which is not on the same ladder as the maximum size Private-L",
            ),
            (
                down(Standard1X),
                vec![("web", 2, "performance-m")],
                "act: web Performance-M → Standard-2X",
            ),
            (
                down(Standard1X),
                vec![("web", 2, "standard-1x")],
                "bound: web is at min size Standard-1X",
            ),
            (
                down(Standard2X),
                vec![("web", 2, "standard-1x")],
                "bound: web is on Standard-1X, below min size Standard-2X",
            ),
        ];
        for (settings, lines, expected) in cases {
            let formation = formation(&lines);
            assert_eq!(
                summary(&plan(&settings, &live(&formation, &[], &[]))),
                expected,
                "{settings:?} on {lines:?}"
            );
        }
    }

    #[test]
    fn legacy_size_names_in_settings_map_to_current_sizes() {
        let parsed = parse_size("2X").unwrap();
        assert!(parsed.legacy);
        let settings =
            ReactionSettings::ScaleUp { process_type: "web".into(), max_size: parsed.size };
        let formation = formation(&[("web", 1, "standard-1x")]);
        assert_eq!(
            summary(&plan(&settings, &live(&formation, &[], &[]))),
            "act: web Standard-1X → Standard-2X"
        );
        let again = formation_after(&formation, "standard-2x");
        assert_eq!(
            summary(&plan(&settings, &live(&again, &[], &[]))),
            "bound: web is at max size Standard-2X"
        );
    }

    fn formation_after(formation: &[Formation], size: &str) -> Vec<Formation> {
        formation
            .iter()
            .map(|entry| Formation { size: size.to_string(), ..entry.clone() })
            .collect()
    }

    #[test]
    fn restart_dyno_needs_an_existing_dyno() {
        let settings = ReactionSettings::RestartDyno { dyno_name: "web.2".into() };
        let running = dynos(&["web.2", "web.1", "worker.1"]);
        assert_eq!(summary(&plan(&settings, &live(&[], &running, &[]))), "act: restart web.2");
        let after_scale_in = dynos(&["web.1", "worker.1"]);
        assert_eq!(
            summary(&plan(&settings, &live(&[], &after_scale_in, &[]))),
            "refuse: dyno web.2 does not exist (the app runs web.1, worker.1)"
        );
        assert_eq!(
            summary(&plan(&ReactionSettings::RestartAll, &live(&[], &running, &[]))),
            "act: restart all 3 dynos"
        );
        assert_eq!(
            summary(&plan(&ReactionSettings::RestartAll, &live(&[], &dynos(&["web.1"]), &[]))),
            "act: restart the app's only dyno"
        );
    }

    #[test]
    fn rollback_table() {
        let settings = |min| ReactionSettings::Rollback { min_release_version: min };
        let cases: Vec<(i64, Vec<(i64, &str, &str, bool, Option<bool>)>, &str)> = vec![
            // Plain: v42 running, roll back to v41.
            (
                1,
                vec![
                    (42, "succeeded", "Deploy b2", true, Some(true)),
                    (41, "succeeded", "Deploy a1", false, Some(true)),
                ],
                "act: release v42 → v41 (new v43)",
            ),
            // After a rollback: v45 runs v40's code, so the next target is v39, not v44.
            (
                1,
                vec![
                    (45, "succeeded", "Rollback to v40", true, Some(true)),
                    (44, "succeeded", "Deploy x", false, Some(true)),
                    (41, "succeeded", "Deploy w", false, Some(true)),
                    (40, "succeeded", "Deploy v", false, Some(true)),
                    (39, "succeeded", "Deploy u", false, Some(true)),
                ],
                "act: release v45 (running v40) → v39 (new v46)",
            ),
            // A rollback of a rollback follows the chain to the code.
            (
                1,
                vec![
                    (50, "succeeded", "Rollback to v48", true, Some(true)),
                    (48, "succeeded", "Rollback to v30", false, Some(true)),
                    (30, "succeeded", "Deploy c", false, Some(true)),
                    (29, "succeeded", "Deploy b", false, Some(true)),
                ],
                "act: release v50 (running v30) → v29 (new v51)",
            ),
            // Failed, pending, expired and ineligible releases are skipped.
            (
                1,
                vec![
                    (12, "succeeded", "Deploy e", true, Some(true)),
                    (11, "failed", "Deploy d", false, Some(true)),
                    (10, "pending", "Deploy c", false, Some(true)),
                    (9, "expired", "Deploy b", false, Some(false)),
                    (8, "succeeded", "Deploy a", false, Some(false)),
                    (7, "succeeded", "Deploy z", false, None),
                ],
                "act: release v12 → v7 (new v13)",
            ),
            // Failed releases newer than the current one still raise the new number.
            (
                1,
                vec![
                    (21, "failed", "Deploy f", false, Some(true)),
                    (20, "succeeded", "Deploy e", true, Some(true)),
                    (19, "succeeded", "Deploy d", false, Some(true)),
                ],
                "act: release v20 → v19 (new v22)",
            ),
            (
                42,
                vec![
                    (42, "succeeded", "Deploy b", true, Some(true)),
                    (41, "succeeded", "Deploy a", false, Some(true)),
                ],
                "bound: running code of v42 is at or below the minimum release v42",
            ),
            (
                42,
                vec![
                    (45, "succeeded", "Rollback to v42", true, Some(true)),
                    (42, "succeeded", "Deploy b", false, Some(true)),
                ],
                "bound: running code of v42 is at or below the minimum release v42",
            ),
            (
                41,
                vec![
                    (43, "succeeded", "Deploy c", true, Some(true)),
                    (42, "failed", "Deploy b", false, Some(true)),
                    (40, "succeeded", "Deploy a", false, Some(true)),
                ],
                "bound: the next target v40 is below the minimum release v41",
            ),
            (
                1,
                vec![
                    (2, "succeeded", "Deploy b", true, Some(true)),
                    (1, "failed", "Deploy a", false, Some(true)),
                ],
                "bound: no succeeded release older than v2 can be rolled back to",
            ),
            (1, vec![], "refuse: the app has no succeeded release to roll back from"),
        ];
        for (min, list, expected) in cases {
            let releases = releases(&list);
            assert_eq!(
                summary(&plan(&settings(min), &live(&[], &[], &releases))),
                expected,
                "min v{min} on {list:?}"
            );
        }
    }

    #[test]
    fn rollback_targets_release_by_id() {
        let releases = releases(&[
            (42, "succeeded", "Deploy b", true, Some(true)),
            (41, "succeeded", "Deploy a", false, Some(true)),
        ]);
        let Plan::Act { step: Step::Rollback { release_id, target_version, .. }, .. } = plan(
            &ReactionSettings::Rollback { min_release_version: 1 },
            &live(&[], &[], &releases),
        ) else {
            panic!("expected a rollback");
        };
        assert_eq!(release_id, "release-41");
        assert_eq!(target_version, 41);
    }

    #[test]
    fn one_off_command_is_passed_as_typed() {
        let command = "bin/cleanup --since '2 days' && echo \"done ✓\"";
        let settings = ReactionSettings::OneOff {
            command: command.into(),
            size: Some(DynoSize::Standard2X),
            time_to_live_secs: Some(600),
        };
        let Plan::Act { step, summary } = plan(&settings, &live(&[], &[], &[])) else {
            panic!("expected a step")
        };
        assert_eq!(
            step,
            Step::RunOneOff {
                command: command.into(),
                size: Some(DynoSize::Standard2X),
                time_to_live_secs: Some(600)
            }
        );
        assert_eq!(summary, format!("run `{command}` on Standard-2X"));
    }
}
