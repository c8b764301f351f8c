//! `hookd plugin new NAME`: a plugin crate from the SDK's template (`plugin-sdk/template/`,
//! embedded in the binary): an HMAC-SHA256 verifier that builds for `wasm32-wasip2`, passes its
//! own unit tests natively (`cargo test`) and its vectors (`hookd plugin test`).

use std::path::{Path, PathBuf};

/// The template's files: path in the new crate, text with `{{name}}`, `{{crate}}` and
/// `{{sdk_dependency}}` to fill in.
const FILES: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../../plugin-sdk/template/Cargo.toml"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../plugin-sdk/template/src/lib.rs"),
    ),
    (
        "tests/vectors.json",
        include_str!("../../../plugin-sdk/template/tests/vectors.json"),
    ),
    (
        ".gitignore",
        include_str!("../../../plugin-sdk/template/gitignore"),
    ),
];

/// The SDK version the template depends on when no `--sdk` path is given.
const SDK_VERSION: &str = "0.3";

/// Creates crate `name` in `dir` (default `./name`), depending on the SDK at `sdk` (a path to
/// hookd's `plugin-sdk/`) or on the published crate. Refuses an existing, non-empty directory.
pub(crate) fn create(
    name: &str,
    dir: Option<PathBuf>,
    sdk: Option<&Path>,
) -> Result<PathBuf, String> {
    if !crate::plugin::valid_name(name) || !name.starts_with(|c: char| c.is_ascii_alphabetic()) {
        return Err(format!(
            "`{name}`: a plugin name starts with a letter and has 1-64 letters, digits, '-' or '_'"
        ));
    }
    let dir = dir.unwrap_or_else(|| PathBuf::from(name));
    if dir.read_dir().is_ok_and(|mut d| d.next().is_some()) {
        return Err(format!("{} exists and is not empty", dir.display()));
    }
    let dependency = match sdk {
        Some(p) => {
            let p = p
                .canonicalize()
                .map_err(|e| format!("--sdk {}: {e}", p.display()))?;
            if !p.join("Cargo.toml").is_file() {
                return Err(format!("--sdk {}: no Cargo.toml there", p.display()));
            }
            format!(
                "hookd-plugin-sdk = {{ path = {:?} }}",
                p.display().to_string()
            )
        }
        None => format!("hookd-plugin-sdk = \"{SDK_VERSION}\""),
    };
    for (path, text) in FILES {
        let text = text
            .replace("{{sdk_dependency}}", &dependency)
            .replace("{{crate}}", &name.replace('-', "_"))
            .replace("{{name}}", name);
        let at = dir.join(path);
        if let Some(parent) = at.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::write(&at, text).map_err(|e| format!("{}: {e}", at.display()))?;
    }
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_filled_in() {
        let tmp = tempfile::tempdir().unwrap();
        let at = create("acme-hooks", Some(tmp.path().join("a")), None).unwrap();
        let toml = std::fs::read_to_string(at.join("Cargo.toml")).unwrap();
        assert!(toml.contains("name = \"acme-hooks\""), "{toml}");
        assert!(toml.contains("hookd-plugin-sdk = \"0.3\""), "{toml}");
        let lib = std::fs::read_to_string(at.join("src/lib.rs")).unwrap();
        assert!(lib.contains("release/acme_hooks.wasm"));
        assert!(!lib.contains("{{"), "every placeholder filled");
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(at.join("tests/vectors.json")).unwrap())
                .unwrap();
        assert!(v["cases"].as_array().unwrap().len() >= 4);
        let sdk = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugin-sdk");
        let at = create("b", Some(tmp.path().join("b")), Some(&sdk)).unwrap();
        let toml = std::fs::read_to_string(at.join("Cargo.toml")).unwrap();
        assert!(toml.contains("hookd-plugin-sdk = { path = "), "{toml}");
        assert!(
            create("b", Some(tmp.path().join("b")), None).is_err(),
            "not empty"
        );
        assert!(create("../x", None, None).is_err());
    }
}
