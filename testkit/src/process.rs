//! This process's resources: the limit on open files, the descriptors open and the CPU time
//! used, for tests and examples that hold thousands of sockets or report their cost.

use nix::sys::resource::{getrlimit, setrlimit, Resource};
use std::time::Duration;

/// The soft limit on open files (`ulimit -n`), or 1024 when it cannot be read.
pub fn fd_limit() -> u64 {
    getrlimit(Resource::RLIMIT_NOFILE).map_or(1024, |(soft, _)| soft)
}

/// Raises the soft limit on open files to the hard limit and returns the soft limit then in
/// force (tests and the density example hold more sockets than the usual 1024). A refused
/// raise leaves the limit as it was.
pub fn raise_fd_limit() -> u64 {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
    fd_limit()
}

/// The number of descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// CPU time (user + system) this process has used so far; zero when `/proc` cannot be read.
pub fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the parenthesised command name: state is field 0, utime 11 and stime 12.
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let field = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // In USER_HZ, 100 per second on every mainstream configuration.
    Duration::from_millis((field(11) + field(12)) * 10)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_raised_limit_is_at_least_the_old_one() {
        let before = fd_limit();
        assert!(raise_fd_limit() >= before);
        assert!(open_fds() >= 3, "stdin, stdout and stderr at least");
    }
}
