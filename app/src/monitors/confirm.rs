//! The confirmed state of a monitor. A single bad check does not make it
//! Failed, and a single good one does not make it Healthy again: each change
//! takes a run of consecutive results of its own kind.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MonitorState {
    /// No confirmed result yet (new, or resumed after a pause).
    Pending,
    Healthy,
    Failed,
    /// Not checked until resumed.
    Paused,
}

impl MonitorState {
    pub fn as_str(self) -> &'static str {
        match self {
            MonitorState::Pending => "pending",
            MonitorState::Healthy => "healthy",
            MonitorState::Failed => "failed",
            MonitorState::Paused => "paused",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MonitorState::Pending => "Pending",
            MonitorState::Healthy => "Healthy",
            MonitorState::Failed => "Failed",
            MonitorState::Paused => "Paused",
        }
    }

    pub fn parse(text: &str) -> Option<MonitorState> {
        [MonitorState::Pending, MonitorState::Healthy, MonitorState::Failed, MonitorState::Paused]
            .into_iter()
            .find(|state| state.as_str() == text)
    }
}

impl TryFrom<String> for MonitorState {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        MonitorState::parse(&value).ok_or_else(|| format!("unknown monitor state {value:?}"))
    }
}

/// A monitor's state with the runs of results that lead to the next change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Confirmation {
    pub state: MonitorState,
    pub consecutive_failures: u32,
    pub consecutive_successes: u32,
}

impl Confirmation {
    pub fn pending() -> Confirmation {
        Confirmation {
            state: MonitorState::Pending,
            consecutive_failures: 0,
            consecutive_successes: 0,
        }
    }

    /// Applies one check result. `fail_after` failing checks in a row confirm
    /// Failed; `recover_after` passing checks in a row confirm Healthy. Both
    /// thresholds count from 1 (a value of 0 is treated as 1).
    pub fn apply(self, passed: bool, fail_after: u32, recover_after: u32) -> Confirmation {
        let (consecutive_successes, consecutive_failures) = if passed {
            (self.consecutive_successes.saturating_add(1), 0)
        } else {
            (0, self.consecutive_failures.saturating_add(1))
        };
        let state = match self.state {
            // A paused monitor is not checked; a stray result changes nothing.
            MonitorState::Paused => MonitorState::Paused,
            _ if passed && consecutive_successes >= recover_after.max(1) => MonitorState::Healthy,
            _ if !passed && consecutive_failures >= fail_after.max(1) => MonitorState::Failed,
            current => current,
        };
        Confirmation { state, consecutive_failures, consecutive_successes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MonitorState::*;

    /// Runs a sequence of results ("P" pass, "F" fail) and returns the state
    /// after each.
    fn run(results: &str, fail_after: u32, recover_after: u32) -> Vec<MonitorState> {
        let mut confirmation = Confirmation::pending();
        results
            .chars()
            .map(|result| {
                confirmation = confirmation.apply(result == 'P', fail_after, recover_after);
                confirmation.state
            })
            .collect()
    }

    #[test]
    fn confirmation_table() {
        let cases: [(&str, u32, u32, &[MonitorState]); 9] = [
            ("P", 1, 1, &[Healthy]),
            ("F", 1, 1, &[Failed]),
            ("PFP", 1, 1, &[Healthy, Failed, Healthy]),
            ("FF", 3, 1, &[Pending, Pending]),
            ("FFF", 3, 1, &[Pending, Pending, Failed]),
            // Alternating results never confirm a change with thresholds above 1.
            (
                "PPFPFPFP",
                2,
                2,
                &[Pending, Healthy, Healthy, Healthy, Healthy, Healthy, Healthy, Healthy],
            ),
            ("PPFFPF", 2, 2, &[Pending, Healthy, Healthy, Failed, Failed, Failed]),
            ("FFPPP", 2, 3, &[Pending, Failed, Failed, Failed, Healthy]),
            ("PF", 0, 0, &[Healthy, Failed]),
        ];
        for (results, fail_after, recover_after, expected) in cases {
            assert_eq!(
                run(results, fail_after, recover_after),
                expected,
                "{results} with fail_after {fail_after}, recover_after {recover_after}"
            );
        }
    }

    #[test]
    fn counters_reset_on_the_other_result() {
        let after = Confirmation::pending().apply(false, 3, 3).apply(false, 3, 3).apply(true, 3, 3);
        assert_eq!(after.consecutive_failures, 0);
        assert_eq!(after.consecutive_successes, 1);
    }

    #[test]
    fn paused_ignores_results() {
        let paused =
            Confirmation { state: Paused, consecutive_failures: 0, consecutive_successes: 0 };
        assert_eq!(paused.apply(false, 1, 1).state, Paused);
        assert_eq!(paused.apply(true, 1, 1).state, Paused);
    }
}
