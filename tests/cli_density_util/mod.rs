//! What the `rdnp3 density` tests share: running the binary and reading its figures.
#![allow(dead_code)] // each test file uses its own subset

use std::process::{Command, Output};

/// `rdnp3 density ARGS…`, not started yet.
pub fn density(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rdnp3"));
    c.arg("density").args(args);
    c
}

/// Standard output then standard error, as text.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The value after `name` on the line that starts with it.
pub fn figure<'a>(output: &'a str, name: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name:?} line in:\n{output}"))
        .trim()
}
