//! Runs tests on both reactor backends, io_uring and epoll, skipping (with the reason) a
//! backend this machine's kernel refuses: as a loop inside one test ([`each_backend`]) or as a
//! harness-less suite that names every case once per backend ([`run_suite`]).

use rdnp3_reactor::Backend;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Instant;

/// The backends every test runs on.
pub const BACKENDS: [Backend; 2] = [Backend::IoUring, Backend::Epoll];

/// Runs `test` once per backend the kernel accepts, noting on stderr which one runs and why
/// one is skipped.
pub fn each_backend(mut test: impl FnMut(Backend)) {
    for backend in BACKENDS {
        if let Err(e) = backend.check() {
            eprintln!("{backend} skipped: {e}");
            continue;
        }
        eprintln!("on {backend}:");
        test(backend);
    }
}

/// One case of a [`run_suite`] suite: a name that reads as a sentence and a body run once
/// per backend.
pub struct Case {
    /// `module::name`; the suite lists it as `module::name::backend`.
    pub name: &'static str,
    /// The test body.
    pub run: fn(Backend),
}

/// Which cases the command line selects, as libtest reads it: an optional substring filter,
/// `--skip PATTERN` (repeatable), `--exact` and `--list`; other flags such as `--nocapture`
/// are accepted and ignored.
struct Selection {
    filter: Option<String>,
    skips: Vec<String>,
    exact: bool,
    list: bool,
}

impl Selection {
    fn from_args(args: &[String]) -> Selection {
        let mut selection = Selection {
            filter: None,
            skips: Vec::new(),
            exact: false,
            list: false,
        };
        let mut rest = args.iter();
        while let Some(arg) = rest.next() {
            match arg.as_str() {
                "--skip" => selection.skips.extend(rest.next().cloned()),
                "--exact" => selection.exact = true,
                "--list" => selection.list = true,
                _ if !arg.starts_with('-') && selection.filter.is_none() => {
                    selection.filter = Some(arg.clone())
                }
                _ => {}
            }
        }
        selection
    }

    fn selects(&self, name: &str) -> bool {
        let kept = match &self.filter {
            None => true,
            Some(f) if self.exact => name == f,
            Some(f) => name.contains(f.as_str()),
        };
        kept && !self.skips.iter().any(|s| name.contains(s.as_str()))
    }
}

/// Runs `cases` on every backend with libtest-style output (for a `harness = false` test
/// target) and exits, non-zero when a case failed. A backend the kernel refuses reports its
/// cases as ignored, with the reason.
pub fn run_suite(cases: &[Case]) -> ! {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let selection = Selection::from_args(&args);
    let names: Vec<(String, &Case, Backend)> = cases
        .iter()
        .flat_map(|case| {
            BACKENDS
                .iter()
                .map(move |b| (format!("{}::{}", case.name, b), case, *b))
        })
        .collect();
    if selection.list {
        for (name, _, _) in &names {
            println!("{name}: test");
        }
        std::process::exit(0);
    }
    let selected: Vec<_> = names
        .iter()
        .filter(|(name, _, _)| selection.selects(name))
        .collect();
    let filtered_out = names.len() - selected.len();
    println!("\nrunning {} tests", selected.len());
    let started = Instant::now();
    let (mut passed, mut ignored) = (0, 0);
    let mut failures = Vec::new();
    for (name, case, backend) in selected {
        if let Err(reason) = backend.check() {
            println!("test {name} ... ignored, {backend} unavailable: {reason}");
            ignored += 1;
            continue;
        }
        let t = Instant::now();
        match catch_unwind(AssertUnwindSafe(|| (case.run)(*backend))) {
            Ok(()) => {
                println!("test {name} ... ok ({:.2}s)", t.elapsed().as_secs_f64());
                passed += 1;
            }
            Err(panic) => {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                println!("test {name} ... FAILED");
                failures.push((name.clone(), message));
            }
        }
    }
    if !failures.is_empty() {
        println!("\nfailures:");
        for (name, message) in &failures {
            println!("    {name}: {message}");
        }
    }
    let failed = failures.len();
    let verdict = if failed == 0 { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {passed} passed; {failed} failed; {ignored} ignored; 0 measured; \
         {filtered_out} filtered out; finished in {:.2}s\n",
        started.elapsed().as_secs_f64()
    );
    std::process::exit(if failed == 0 { 0 } else { 101 });
}
