//! Verifier plugins for the tests: built from source (`plugins/`, `cargo build --release
//! --target wasm32-wasip2`) once per test process, and laid out in plugin directories for test
//! daemons and hosts.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The directory holding the built `<crate>.wasm` files (crate names with `_`).
pub fn built() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../plugins")
            .canonicalize()
            .expect("plugins/ exists");
        let target = root.join("target");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(&root)
            .args(["build", "--release", "--target", "wasm32-wasip2"])
            // Nothing of the outer build may leak into the guest build.
            .env_remove("RUSTFLAGS")
            .env_remove("CARGO_ENCODED_RUSTFLAGS")
            .env_remove("CARGO_BUILD_TARGET")
            .env_remove("CARGO_BUILD_RUSTFLAGS")
            .env("CARGO_TARGET_DIR", &target)
            .output()
            .expect("cargo runs");
        assert!(
            out.status.success(),
            "building plugins/ failed (is the wasm32-wasip2 target installed? scripts/setup adds it):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target.join("wasm32-wasip2/release")
    })
}

/// The built component of plugin crate `name` (e.g. `standard-webhooks`).
pub fn wasm(name: &str) -> PathBuf {
    let p = built().join(format!("{}.wasm", name.replace('-', "_")));
    assert!(p.is_file(), "{} was not built", p.display());
    p
}

/// Installs plugin crate `name` into `dir` as `<name>.wasm` (its plugin name is `name`).
pub fn install(dir: &Path, name: &str) {
    std::fs::copy(wasm(name), dir.join(format!("{name}.wasm"))).unwrap();
}

/// A fresh plugin directory holding `names`.
pub fn dir_with(names: &[&str]) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for n in names {
        install(d.path(), n);
    }
    d
}

/// Config text (for [`TestDaemon::start`](crate::TestDaemon::start)) enabling plugins from
/// `dir` with a `deadline_ms` deadline.
pub fn config(dir: &Path, deadline_ms: u64) -> String {
    format!(
        "#rest\n[plugins]\ndir = \"{}\"\ndeadline_ms = {deadline_ms}\n",
        dir.display()
    )
}
