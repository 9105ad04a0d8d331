//! What the benchmarks ran on, and what this process costs.

use std::fs;

/// One line naming the CPU, cores, memory, kernel and build.
pub fn describe() -> String {
    let cpuinfo = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|line| {
            line.strip_prefix("model name")
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".to_string());
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    let memory_kib = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| text.lines().find_map(|line| line.strip_prefix("MemTotal:").map(kib)))
        .unwrap_or(0);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let build = if cfg!(debug_assertions) {
        "debug build: figures are not representative"
    } else {
        "release build"
    };
    format!(
        "machine: {model}, {cores} cores, {:.1} GiB memory, Linux {}; rebound {} ({build})",
        memory_kib as f64 / 1024.0 / 1024.0,
        kernel.trim(),
        env!("CARGO_PKG_VERSION")
    )
}

fn kib(value: &str) -> u64 {
    value.trim().trim_end_matches("kB").trim().parse().unwrap_or(0)
}

/// Resident memory of a process in KiB (`VmRSS`), or of this one.
pub fn rss_kib(pid: Option<u32>) -> u64 {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    fs::read_to_string(path)
        .ok()
        .and_then(|text| text.lines().find_map(|line| line.strip_prefix("VmRSS:").map(kib)))
        .unwrap_or(0)
}

/// CPU time this process used so far, in seconds (user plus system).
pub fn cpu_seconds() -> f64 {
    stat_cpu_seconds("/proc/self/stat")
}

/// CPU time one thread of this process used so far, in seconds.
pub fn thread_cpu_seconds(thread_id: u32) -> f64 {
    stat_cpu_seconds(&format!("/proc/self/task/{thread_id}/stat"))
}

/// The kernel's id of the calling thread.
pub fn current_thread_id() -> u32 {
    // /proc/thread-self links to <pid>/task/<tid>.
    fs::read_link("/proc/thread-self")
        .ok()
        .and_then(|link| link.file_name().and_then(|name| name.to_str()?.parse().ok()))
        .unwrap_or(0)
}

fn stat_cpu_seconds(path: &str) -> f64 {
    // utime and stime (fields 14 and 15) count clock ticks of USER_HZ,
    // which is 100 on every mainstream Linux architecture.
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = fs::read_to_string(path).unwrap_or_default();
    // The command name (field 2) may contain spaces; count after its ')'.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks =
        |index: usize| fields.get(index).and_then(|value| value.parse::<f64>().ok()).unwrap_or(0.0);
    // After ')', field 3 (state) is index 0, so utime is 11 and stime 12.
    (ticks(11) + ticks(12)) / TICKS_PER_SECOND
}
