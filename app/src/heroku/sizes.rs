//! Heroku's Cedar dyno sizes: names, tiers, the order reactions step through,
//! and the scaling limits Heroku enforces. Pure code shared by the browser,
//! the reactions and the sandbox.
//!
//! Sources: <https://devcenter.heroku.com/articles/dyno-types> (sizes and
//! tiers, June 2024), <https://devcenter.heroku.com/articles/dyno-scaling-and-process-limits>
//! (limits, December 2024) and <https://devcenter.heroku.com/articles/dyno-size>
//! (the 2013-2015 names 1X, 2X and PX).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A tier: sizes of different tiers may or may not share one app.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Tier {
    /// Eco: sleeps when idle; every process type of the app must be Eco.
    Eco,
    /// Basic: every process type of the app must be Basic.
    Basic,
    /// Standard and Performance sizes, which mix freely in one app.
    Professional,
    /// Private-* sizes, only inside Private or Shield Spaces.
    Private,
}

impl Tier {
    pub fn label(self) -> &'static str {
        match self {
            Tier::Eco => "Eco",
            Tier::Basic => "Basic",
            Tier::Professional => "Standard/Performance",
            Tier::Private => "Private",
        }
    }
}

/// A Cedar dyno size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub enum DynoSize {
    Eco,
    Basic,
    Standard1X,
    Standard2X,
    PerformanceM,
    PerformanceL,
    PerformanceLRam,
    PerformanceXL,
    Performance2XL,
    PrivateS,
    PrivateM,
    PrivateL,
    PrivateLRam,
    PrivateXL,
    Private2XL,
}

/// Standard and Performance sizes from smallest to largest: the steps of
/// "scale up" and "scale down".
pub const PROFESSIONAL_LADDER: [DynoSize; 7] = [
    DynoSize::Standard1X,
    DynoSize::Standard2X,
    DynoSize::PerformanceM,
    DynoSize::PerformanceL,
    DynoSize::PerformanceLRam,
    DynoSize::PerformanceXL,
    DynoSize::Performance2XL,
];

/// Private Space sizes from smallest to largest.
pub const PRIVATE_LADDER: [DynoSize; 6] = [
    DynoSize::PrivateS,
    DynoSize::PrivateM,
    DynoSize::PrivateL,
    DynoSize::PrivateLRam,
    DynoSize::PrivateXL,
    DynoSize::Private2XL,
];

pub const ALL_SIZES: [DynoSize; 15] = [
    DynoSize::Eco,
    DynoSize::Basic,
    DynoSize::Standard1X,
    DynoSize::Standard2X,
    DynoSize::PerformanceM,
    DynoSize::PerformanceL,
    DynoSize::PerformanceLRam,
    DynoSize::PerformanceXL,
    DynoSize::Performance2XL,
    DynoSize::PrivateS,
    DynoSize::PrivateM,
    DynoSize::PrivateL,
    DynoSize::PrivateLRam,
    DynoSize::PrivateXL,
    DynoSize::Private2XL,
];

/// Dynos per app across all process types on Cedar.
pub const MAX_DYNOS_PER_APP: u32 = 100;
/// Dynos running at once in an app on Eco dynos (e.g. one web and one worker).
pub const MAX_ECO_DYNOS_PER_APP: u32 = 2;

impl DynoSize {
    /// The lower-case name Heroku accepts in requests (`standard-2x`).
    pub fn as_str(self) -> &'static str {
        match self {
            DynoSize::Eco => "eco",
            DynoSize::Basic => "basic",
            DynoSize::Standard1X => "standard-1x",
            DynoSize::Standard2X => "standard-2x",
            DynoSize::PerformanceM => "performance-m",
            DynoSize::PerformanceL => "performance-l",
            DynoSize::PerformanceLRam => "performance-l-ram",
            DynoSize::PerformanceXL => "performance-xl",
            DynoSize::Performance2XL => "performance-2xl",
            DynoSize::PrivateS => "private-s",
            DynoSize::PrivateM => "private-m",
            DynoSize::PrivateL => "private-l",
            DynoSize::PrivateLRam => "private-l-ram",
            DynoSize::PrivateXL => "private-xl",
            DynoSize::Private2XL => "private-2xl",
        }
    }

    /// The name as Heroku's responses spell it (`Standard-2X`).
    pub fn display_name(self) -> &'static str {
        match self {
            DynoSize::Eco => "Eco",
            DynoSize::Basic => "Basic",
            DynoSize::Standard1X => "Standard-1X",
            DynoSize::Standard2X => "Standard-2X",
            DynoSize::PerformanceM => "Performance-M",
            DynoSize::PerformanceL => "Performance-L",
            DynoSize::PerformanceLRam => "Performance-L-RAM",
            DynoSize::PerformanceXL => "Performance-XL",
            DynoSize::Performance2XL => "Performance-2XL",
            DynoSize::PrivateS => "Private-S",
            DynoSize::PrivateM => "Private-M",
            DynoSize::PrivateL => "Private-L",
            DynoSize::PrivateLRam => "Private-L-RAM",
            DynoSize::PrivateXL => "Private-XL",
            DynoSize::Private2XL => "Private-2XL",
        }
    }

    pub fn tier(self) -> Tier {
        match self {
            DynoSize::Eco => Tier::Eco,
            DynoSize::Basic => Tier::Basic,
            DynoSize::Standard1X
            | DynoSize::Standard2X
            | DynoSize::PerformanceM
            | DynoSize::PerformanceL
            | DynoSize::PerformanceLRam
            | DynoSize::PerformanceXL
            | DynoSize::Performance2XL => Tier::Professional,
            _ => Tier::Private,
        }
    }

    /// Memory in MB.
    pub fn memory_mb(self) -> u32 {
        match self {
            DynoSize::Eco | DynoSize::Basic | DynoSize::Standard1X => 512,
            DynoSize::Standard2X | DynoSize::PrivateS => 1024,
            DynoSize::PerformanceM | DynoSize::PrivateM => 2560,
            DynoSize::PerformanceL | DynoSize::PrivateL => 14 * 1024,
            DynoSize::PerformanceLRam | DynoSize::PrivateLRam => 30 * 1024,
            DynoSize::PerformanceXL | DynoSize::PrivateXL => 62 * 1024,
            DynoSize::Performance2XL | DynoSize::Private2XL => 126 * 1024,
        }
    }

    /// Whether the size runs on dedicated hardware (Performance and Private).
    pub fn is_dedicated(self) -> bool {
        !matches!(
            self,
            DynoSize::Eco | DynoSize::Basic | DynoSize::Standard1X | DynoSize::Standard2X
        )
    }

    /// Maximum quantity of one process type at this size, before Heroku
    /// raises limits on request. Standard sizes have no cap of their own;
    /// the per-app total applies to them.
    pub fn max_quantity_per_type(self) -> u32 {
        match self.tier() {
            Tier::Eco | Tier::Basic => 1,
            Tier::Professional if !self.is_dedicated() => MAX_DYNOS_PER_APP,
            Tier::Professional | Tier::Private => 10,
        }
    }

    /// Maximum one-off dynos of this size running at once in one app.
    pub fn max_concurrent_one_off(self) -> u32 {
        match self.tier() {
            Tier::Eco => 1,
            Tier::Basic => 50,
            Tier::Professional if !self.is_dedicated() => 50,
            Tier::Professional | Tier::Private => 5,
        }
    }

    /// The sizes this one may step through: the Professional or Private
    /// ladder. Eco and Basic have no ladder, because leaving them means
    /// moving every process type of the app at once.
    pub fn ladder(self) -> &'static [DynoSize] {
        match self.tier() {
            Tier::Professional => &PROFESSIONAL_LADDER,
            Tier::Private => &PRIVATE_LADDER,
            Tier::Eco | Tier::Basic => &[],
        }
    }

    /// The next larger size on this size's ladder.
    pub fn step_up(self) -> Option<DynoSize> {
        let ladder = self.ladder();
        let index = ladder.iter().position(|size| *size == self)?;
        ladder.get(index + 1).copied()
    }

    /// The next smaller size on this size's ladder.
    pub fn step_down(self) -> Option<DynoSize> {
        let ladder = self.ladder();
        let index = ladder.iter().position(|size| *size == self)?;
        index.checked_sub(1).and_then(|lower| ladder.get(lower).copied())
    }

    /// Position on its ladder (0 = smallest), for comparing bounds.
    pub fn rank(self) -> Option<usize> {
        self.ladder().iter().position(|size| *size == self)
    }
}

impl fmt::Display for DynoSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

/// A size name that Heroku does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{name:?} is not a Heroku dyno size; use one of eco, basic, standard-1x, standard-2x, performance-m, performance-l, performance-l-ram, performance-xl, performance-2xl or private-*"
)]
pub struct UnknownSize {
    pub name: String,
}

/// A size name read from a person or an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParsedSize {
    pub size: DynoSize,
    /// The input was a retired name (1X, 2X, PX) mapped to a current size.
    pub legacy: bool,
}

/// Parses a size name, ignoring case. Accepts the retired names 1X, 2X and
/// PX (mapped to Standard-1X, Standard-2X and Performance-L, the nearest
/// current sizes by memory and CPU share) and Shield-* (sent to the API as
/// Private-*, as the Heroku CLI does).
pub fn parse_size(name: &str) -> Result<ParsedSize, UnknownSize> {
    let lower = name.trim().to_ascii_lowercase();
    let legacy = match lower.as_str() {
        "1x" => Some(DynoSize::Standard1X),
        "2x" => Some(DynoSize::Standard2X),
        "px" => Some(DynoSize::PerformanceL),
        _ => None,
    };
    if let Some(size) = legacy {
        return Ok(ParsedSize { size, legacy: true });
    }
    let current = match lower.strip_prefix("shield-") {
        Some(rest) => format!("private-{rest}"),
        None => lower,
    };
    ALL_SIZES
        .iter()
        .find(|size| size.as_str() == current)
        .map(|size| ParsedSize { size: *size, legacy: false })
        .ok_or_else(|| UnknownSize { name: name.trim().to_string() })
}

/// Parses only current names, as Heroku's API does (it rejected `1X` as
/// "No such size" for apps on the 2015 tiers).
pub fn parse_current_size(name: &str) -> Result<DynoSize, UnknownSize> {
    match parse_size(name) {
        Ok(ParsedSize { size, legacy: false }) => Ok(size),
        _ => Err(UnknownSize { name: name.trim().to_string() }),
    }
}

/// One process type of a formation as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessLine {
    pub process_type: String,
    pub size: DynoSize,
    pub quantity: u32,
}

/// A formation that Heroku would reject, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormationRuleError {
    #[error(
        "Cannot use the following dyno types in the same app: {first} and {second}. Eco and Basic apps use that size for every process type."
    )]
    MixedTiers { first: DynoSize, second: DynoSize },
    #[error("Cannot update to more than {limit} {size} size dynos per process type.")]
    AbovePerTypeLimit { process_type: String, size: DynoSize, limit: u32 },
    #[error("Cannot run more than {limit} Eco size dynos.")]
    AboveEcoLimit { limit: u32 },
    #[error("Cannot run more than {limit} dynos in one app.")]
    AboveAppLimit { limit: u32 },
    #[error("{size} dynos run only in Private Spaces.")]
    PrivateOutsideSpace { size: DynoSize },
    #[error("{size} dynos need a Private Space size in a Private Space app; use Private-* sizes.")]
    PublicInsideSpace { size: DynoSize },
}

impl FormationRuleError {
    /// The limit that was exceeded, for error bodies that carry `limit`.
    pub fn limit(&self) -> Option<u32> {
        match self {
            FormationRuleError::AbovePerTypeLimit { limit, .. }
            | FormationRuleError::AboveEcoLimit { limit }
            | FormationRuleError::AboveAppLimit { limit } => Some(*limit),
            _ => None,
        }
    }
}

/// Checks a whole formation (every process type, including those at
/// quantity 0) against Heroku's tier and quantity rules. `one_off_eco_dynos`
/// counts running Eco one-off dynos, which share the Eco app limit.
pub fn check_formation(
    lines: &[ProcessLine],
    in_private_space: bool,
    one_off_eco_dynos: u32,
) -> Result<(), FormationRuleError> {
    for line in lines {
        let private = line.size.tier() == Tier::Private;
        if private && !in_private_space {
            return Err(FormationRuleError::PrivateOutsideSpace { size: line.size });
        }
        if !private && in_private_space {
            return Err(FormationRuleError::PublicInsideSpace { size: line.size });
        }
    }
    // Eco and Basic each stand alone; Standard and Performance mix freely.
    let exclusive = lines.iter().find(|line| matches!(line.size.tier(), Tier::Eco | Tier::Basic));
    if let Some(exclusive) = exclusive
        && let Some(other) = lines.iter().find(|line| line.size.tier() != exclusive.size.tier())
    {
        let (first, second) = if exclusive.size <= other.size {
            (exclusive.size, other.size)
        } else {
            (other.size, exclusive.size)
        };
        return Err(FormationRuleError::MixedTiers { first, second });
    }
    for line in lines {
        let limit = line.size.max_quantity_per_type();
        if line.quantity > limit {
            return Err(FormationRuleError::AbovePerTypeLimit {
                process_type: line.process_type.clone(),
                size: line.size,
                limit,
            });
        }
    }
    let total: u32 = lines.iter().map(|line| line.quantity).sum();
    if exclusive.is_some_and(|line| line.size == DynoSize::Eco)
        && total + one_off_eco_dynos > MAX_ECO_DYNOS_PER_APP
    {
        return Err(FormationRuleError::AboveEcoLimit { limit: MAX_ECO_DYNOS_PER_APP });
    }
    if total > MAX_DYNOS_PER_APP {
        return Err(FormationRuleError::AboveAppLimit { limit: MAX_DYNOS_PER_APP });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(process_type: &str, size: DynoSize, quantity: u32) -> ProcessLine {
        ProcessLine { process_type: process_type.into(), size, quantity }
    }

    #[test]
    fn parse_accepts_any_case_and_legacy_names() {
        let cases = [
            ("standard-1x", DynoSize::Standard1X, false),
            ("Standard-2X", DynoSize::Standard2X, false),
            (" PERFORMANCE-L-RAM ", DynoSize::PerformanceLRam, false),
            ("Eco", DynoSize::Eco, false),
            ("basic", DynoSize::Basic, false),
            ("Private-M", DynoSize::PrivateM, false),
            ("Shield-L", DynoSize::PrivateL, false),
            ("1X", DynoSize::Standard1X, true),
            ("2x", DynoSize::Standard2X, true),
            ("PX", DynoSize::PerformanceL, true),
        ];
        for (input, size, legacy) in cases {
            assert_eq!(parse_size(input), Ok(ParsedSize { size, legacy }), "{input}");
        }
    }

    #[test]
    fn parse_rejects_unknown_and_retired_tiers() {
        for input in ["", "free", "hobby", "performance", "standard-3x", "3X", "dyno-1c-0.5gb"] {
            assert!(parse_size(input).is_err(), "{input}");
        }
        assert!(parse_current_size("1X").is_err(), "the API takes current names only");
        assert_eq!(parse_current_size("STANDARD-1X"), Ok(DynoSize::Standard1X));
    }

    #[test]
    fn names_round_trip() {
        for size in ALL_SIZES {
            assert_eq!(parse_size(size.as_str()).unwrap().size, size);
            assert_eq!(parse_size(size.display_name()).unwrap().size, size);
        }
    }

    #[test]
    fn ladder_steps_in_order() {
        let cases = [
            (DynoSize::Standard1X, Some(DynoSize::Standard2X), None),
            (DynoSize::Standard2X, Some(DynoSize::PerformanceM), Some(DynoSize::Standard1X)),
            (DynoSize::PerformanceM, Some(DynoSize::PerformanceL), Some(DynoSize::Standard2X)),
            (DynoSize::PerformanceL, Some(DynoSize::PerformanceLRam), Some(DynoSize::PerformanceM)),
            (
                DynoSize::PerformanceLRam,
                Some(DynoSize::PerformanceXL),
                Some(DynoSize::PerformanceL),
            ),
            (
                DynoSize::PerformanceXL,
                Some(DynoSize::Performance2XL),
                Some(DynoSize::PerformanceLRam),
            ),
            (DynoSize::Performance2XL, None, Some(DynoSize::PerformanceXL)),
            (DynoSize::PrivateS, Some(DynoSize::PrivateM), None),
            (DynoSize::Private2XL, None, Some(DynoSize::PrivateXL)),
            (DynoSize::Eco, None, None),
            (DynoSize::Basic, None, None),
        ];
        for (size, up, down) in cases {
            assert_eq!(size.step_up(), up, "up from {size}");
            assert_eq!(size.step_down(), down, "down from {size}");
        }
    }

    #[test]
    fn legacy_scale_up_path_maps_to_current_ladder() {
        // 1X then 2X then PX, as older dashboards stepped, lands on the
        // current sizes in ladder order.
        let path: Vec<DynoSize> =
            ["1X", "2X", "PX"].iter().map(|name| parse_size(name).unwrap().size).collect();
        assert!(path[0].rank() < path[1].rank());
        assert!(path[1].rank() < path[2].rank());
    }

    #[test]
    fn quantity_limits_per_size() {
        let cases = [
            (DynoSize::Eco, 1, 1),
            (DynoSize::Basic, 1, 50),
            (DynoSize::Standard1X, 100, 50),
            (DynoSize::Standard2X, 100, 50),
            (DynoSize::PerformanceM, 10, 5),
            (DynoSize::Performance2XL, 10, 5),
            (DynoSize::PrivateS, 10, 5),
        ];
        for (size, per_type, one_off) in cases {
            assert_eq!(size.max_quantity_per_type(), per_type, "{size}");
            assert_eq!(size.max_concurrent_one_off(), one_off, "{size}");
        }
    }

    #[test]
    fn formation_rules() {
        type Case = (&'static str, Vec<ProcessLine>, bool, u32, Result<(), FormationRuleError>);
        let cases: Vec<Case> = vec![
            (
                "professional sizes mix",
                vec![
                    line("web", DynoSize::PerformanceL, 3),
                    line("worker", DynoSize::Standard1X, 5),
                ],
                false,
                0,
                Ok(()),
            ),
            (
                "eco with standard",
                vec![line("web", DynoSize::Eco, 1), line("worker", DynoSize::Standard1X, 1)],
                false,
                0,
                Err(FormationRuleError::MixedTiers {
                    first: DynoSize::Eco,
                    second: DynoSize::Standard1X,
                }),
            ),
            (
                "basic with eco",
                vec![line("web", DynoSize::Basic, 1), line("worker", DynoSize::Eco, 0)],
                false,
                0,
                Err(FormationRuleError::MixedTiers {
                    first: DynoSize::Eco,
                    second: DynoSize::Basic,
                }),
            ),
            (
                "basic at one per type",
                vec![line("web", DynoSize::Basic, 1), line("worker", DynoSize::Basic, 1)],
                false,
                0,
                Ok(()),
            ),
            (
                "basic above one",
                vec![line("web", DynoSize::Basic, 2)],
                false,
                0,
                Err(FormationRuleError::AbovePerTypeLimit {
                    process_type: "web".into(),
                    size: DynoSize::Basic,
                    limit: 1,
                }),
            ),
            (
                "performance above ten",
                vec![line("web", DynoSize::PerformanceM, 11)],
                false,
                0,
                Err(FormationRuleError::AbovePerTypeLimit {
                    process_type: "web".into(),
                    size: DynoSize::PerformanceM,
                    limit: 10,
                }),
            ),
            ("performance at ten", vec![line("web", DynoSize::PerformanceM, 10)], false, 0, Ok(())),
            (
                "eco app with a one-off over two",
                vec![line("web", DynoSize::Eco, 1), line("worker", DynoSize::Eco, 1)],
                false,
                1,
                Err(FormationRuleError::AboveEcoLimit { limit: 2 }),
            ),
            (
                "standard above the app total",
                vec![
                    line("web", DynoSize::Standard1X, 60),
                    line("worker", DynoSize::Standard2X, 41),
                ],
                false,
                0,
                Err(FormationRuleError::AboveAppLimit { limit: 100 }),
            ),
            (
                "private outside a space",
                vec![line("web", DynoSize::PrivateM, 1)],
                false,
                0,
                Err(FormationRuleError::PrivateOutsideSpace { size: DynoSize::PrivateM }),
            ),
            (
                "standard inside a space",
                vec![line("web", DynoSize::Standard1X, 1)],
                true,
                0,
                Err(FormationRuleError::PublicInsideSpace { size: DynoSize::Standard1X }),
            ),
            ("private inside a space", vec![line("web", DynoSize::PrivateL, 4)], true, 0, Ok(())),
        ];
        for (name, lines, in_space, one_offs, expected) in cases {
            assert_eq!(check_formation(&lines, in_space, one_offs), expected, "{name}");
        }
    }

    #[test]
    fn rule_messages_name_sizes() {
        let mixed =
            FormationRuleError::MixedTiers { first: DynoSize::Eco, second: DynoSize::Standard1X };
        assert!(mixed.to_string().contains("Eco and Standard-1X"), "{mixed}");
        let above = FormationRuleError::AbovePerTypeLimit {
            process_type: "web".into(),
            size: DynoSize::Basic,
            limit: 1,
        };
        assert_eq!(
            above.to_string(),
            "Cannot update to more than 1 Basic size dynos per process type."
        );
        assert_eq!(above.limit(), Some(1));
    }
}
