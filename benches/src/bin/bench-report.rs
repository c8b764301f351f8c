//! `bench-report FILE.jsonl…`: prints the markdown tables of RESULTS.md (targets, hookd against
//! the bare server, every run) from the JSON lines written by `loadgen --json`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let files: Vec<String> = std::env::args().skip(1).collect();
    if files.is_empty() {
        eprintln!("usage: bench-report RESULTS.jsonl…");
        return ExitCode::from(2);
    }
    let mut runs = Vec::new();
    for f in &files {
        let parsed = std::fs::read_to_string(f)
            .map_err(|e| e.to_string())
            .and_then(|t| hookd_benches::report::parse(&t));
        match parsed {
            Ok(r) => runs.extend(r),
            Err(e) => {
                eprintln!("bench-report: {f}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    print!("{}", hookd_benches::report::markdown(&runs));
    ExitCode::SUCCESS
}
