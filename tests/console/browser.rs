//! A headless Debian Chromium driven through WebDriver (`chromedriver`, started here on a free
//! port; both installed by `scripts/setup`), plus what the console tests do with it: wait for a
//! condition, inject axe-core, check the 375 px layout, take screenshots.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::wd::{TimeoutConfiguration, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use hookd_e2e::json;
use serde_json::Value;

/// Generous: the machine is shared and slow; conditions are polled, never timed.
pub const WAIT: Duration = Duration::from_secs(60);

/// Desktop and phone viewports.
pub const DESKTOP: (u32, u32) = (1280, 900);
pub const PHONE: (u32, u32) = (375, 812);

/// A browser session and the chromedriver process serving it.
pub struct Browser {
    /// The WebDriver session.
    pub c: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tool(name: &str) -> PathBuf {
    for dir in ["/usr/bin", "/usr/lib/chromium"] {
        let p = Path::new(dir).join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "{name} not found: run scripts/setup (it installs Debian's chromium and chromium-driver)"
    );
}

impl Browser {
    /// Starts chromedriver and a fresh headless Chromium (its own empty profile).
    pub async fn start() -> Browser {
        let chromium = tool("chromium");
        let driver_bin = tool("chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            // Its own process group, so Chromium (its child) goes with it (see `Drop`).
            let mut driver = Command::new(&driver_bin)
                .arg(format!("--port={port}"))
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("chromedriver starts");
            let caps = json!({
                "browserName": "chrome",
                "goog:chromeOptions": {
                    "binary": chromium,
                    "args": [
                        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--disable-quic", "--no-first-run", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync",
                        "--disable-features=Translate,MediaRouter",
                        format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
                        format!("--user-data-dir={}", profile.path().display()),
                    ],
                },
            });
            let caps = match caps {
                Value::Object(m) => m,
                _ => unreachable!(),
            };
            let deadline = Instant::now() + WAIT;
            loop {
                let r =
                    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                        .capabilities(caps.clone())
                        .connect(&format!("http://127.0.0.1:{port}"))
                        .await;
                match r {
                    Ok(c) => {
                        let mut t = TimeoutConfiguration::default();
                        t.set_script(Some(WAIT));
                        t.set_page_load(Some(WAIT));
                        t.set_implicit(Some(Duration::ZERO));
                        c.update_timeouts(t).await.unwrap();
                        return Browser {
                            c,
                            driver,
                            _profile: profile,
                        };
                    }
                    Err(e) => last_err = e.to_string(),
                }
                if Instant::now() > deadline || driver.try_wait().unwrap().is_some() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            kill_group(&mut driver);
        }
        panic!("no WebDriver session: {last_err}");
    }

    /// Ends the session and chromedriver.
    pub async fn stop(self) {
        let _ = self.c.clone().close().await;
        // Drop ends chromedriver's process group.
    }

    /// Polls `f` until it returns `Some`, or panics with `what` after [`WAIT`].
    pub async fn until<T, F, Fut>(&self, what: &str, mut f: F) -> T
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Option<T>>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(v) = f().await {
                return v;
            }
            if Instant::now() > deadline {
                let url = self
                    .c
                    .current_url()
                    .await
                    .map(|u| u.to_string())
                    .unwrap_or_default();
                let text = self.text("body").await.unwrap_or_default();
                panic!("timed out waiting for {what} (at {url}); page text:\n{text}");
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }

    /// The visible text of the first element matching `css`, if there is one.
    pub async fn text(&self, css: &str) -> Option<String> {
        match self.c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.ok(),
            Err(_) => None,
        }
    }

    /// Waits for an element matching `css` and returns it.
    pub async fn el(&self, css: &str) -> fantoccini::elements::Element {
        let c = &self.c;
        self.until(&format!("element {css}"), || async move {
            c.find(Locator::Css(css)).await.ok()
        })
        .await
    }

    /// Waits until the first `css` element's text contains `want`.
    pub async fn wait_text(&self, css: &str, want: &str) -> String {
        self.until(&format!("{css} to contain {want:?}"), || async move {
            self.text(css).await.filter(|t| t.contains(want))
        })
        .await
    }

    /// Clicks the element matching `css` (waiting for it).
    pub async fn click(&self, css: &str) {
        self.el(css).await.click().await.unwrap();
    }

    /// Replaces the value of the input matching `css` by typing `text`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let e = self.el(css).await;
        e.clear().await.unwrap();
        e.send_keys(text).await.unwrap();
    }

    /// Runs a script; returns its value.
    pub async fn js(&self, script: &str) -> Value {
        self.c.execute(script, vec![]).await.unwrap()
    }

    /// Sets the viewport (the window of headless Chromium) and checks the page got it.
    pub async fn viewport(&self, (w, h): (u32, u32)) {
        self.c.set_window_size(w, h).await.unwrap();
        let got = self.js("return window.innerWidth").await;
        assert_eq!(got, json!(w), "viewport width");
    }

    /// Runs axe-core on the page and fails on any serious or critical violation.
    pub async fn check_a11y(&self, page: &str) {
        if self.js("return typeof window.axe").await != json!("object") {
            let src = std::fs::read_to_string(axe_path()).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}: run scripts/setup (it installs console/node_modules)",
                    axe_path().display()
                )
            });
            self.c
                .execute(&format!("{src}\nreturn true;"), vec![])
                .await
                .unwrap();
        }
        let r = self
            .c
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                   .then(r => done(r.violations.map(v => ({
                       id: v.id, impact: v.impact, help: v.help,
                       nodes: v.nodes.map(n => n.target.join(' ')) }))))
                   .catch(e => done({ error: String(e) }));",
                vec![],
            )
            .await
            .unwrap();
        let list = r
            .as_array()
            .unwrap_or_else(|| panic!("axe failed on {page}: {r}"));
        let bad: Vec<&Value> = list
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(
            bad.is_empty(),
            "axe: serious/critical violations on {page}: {bad:#?}"
        );
    }

    /// At 375 px: nothing wider than the viewport (no sideways scrolling), and axe again.
    pub async fn check_phone(&self, page: &str, shot: Option<&str>) {
        self.viewport(PHONE).await;
        let r = self
            .js("const d = document.documentElement;
                 const clipped = e => {
                   for (; e; e = e.parentElement)
                     if (getComputedStyle(e).position === 'absolute') return true;
                   return false;
                 };
                 const wide = [...document.querySelectorAll('body *')]
                   .filter(e => e.getBoundingClientRect().right > d.clientWidth + 1 && !clipped(e))
                   .map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 5);
                 return { scroll: d.scrollWidth, width: d.clientWidth, wide };")
            .await;
        assert!(
            r["scroll"].as_u64() <= r["width"].as_u64() && r["wide"].as_array().unwrap().is_empty(),
            "{page} overflows 375 px: {r}"
        );
        self.check_a11y(&format!("{page} at 375 px")).await;
        if let Some(name) = shot {
            self.screenshot(name).await;
        }
        self.viewport(DESKTOP).await;
    }

    /// Saves a PNG of the whole page (Chromium's full-page capture through chromedriver's CDP
    /// endpoint) as `docs/console/<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        // Let focus rings, fonts and layout settle after the last change.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let metrics = self.cdp("Page.getLayoutMetrics", json!({})).await;
        let width = self.js("return window.innerWidth").await;
        let height = metrics["cssContentSize"]["height"]
            .as_f64()
            .unwrap()
            .min(4000.0);
        let shot = self
            .cdp(
                "Page.captureScreenshot",
                json!({"format": "png", "captureBeyondViewport": true,
                    "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}}),
            )
            .await;
        use base64::Engine;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        assert!(png.starts_with(b"\x89PNG"), "screenshot is a PNG");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/console");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

/// Ends chromedriver and what it started (Chromium), by the group of the process we spawned.
fn kill_group(driver: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", driver.id())])
        .stderr(Stdio::null())
        .status();
    let _ = driver.wait();
}

/// A Chrome DevTools Protocol command, sent through chromedriver (`goog/cdp/execute`).
#[derive(Debug)]
struct Cdp(&'static str, Value);

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/goog/cdp/execute",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.0, "params": self.1});
        (http::Method::POST, Some(body.to_string()))
    }
}

impl Browser {
    async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.c
            .issue_cmd(Cdp(cmd, params))
            .await
            .unwrap_or_else(|e| panic!("{cmd}: {e}"))
    }
}

/// axe-core as installed from the npm registry by `scripts/setup` (console/package-lock.json).
fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../console/node_modules/axe-core/axe.min.js")
}
