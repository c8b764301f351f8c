//! The `hookd` binary: everything (command line, logging, config loading, the commands) is in
//! the library's [`hookd::cli`] module.

/// jemalloc for the whole process — Rust code and librdkafka (C) alike, whose `malloc`/`free`
/// it replaces — instead of glibc's malloc. glibc kept the freed request bodies and librdkafka
/// message copies of a burst (a broker outage filling the in-flight budget) in its per-thread
/// arenas: RSS stayed near its peak long after. `benches/RESULTS.md` ("Memory during a broker
/// outage") has the figures before and after.
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options (the `MALLOC_CONF` environment variable still overrides them): background
/// threads give unused pages back to the system about a second after they were freed, even
/// when the process is idle.
#[export_name = "malloc_conf"]
pub static MALLOC_CONF: &[u8; 60] =
    b"background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

fn main() -> std::process::ExitCode {
    hookd::cli::main()
}
