//! End-to-end tests in a real headless Chromium driven through chromedriver
//! (WebDriver): the residents' and officers' flows, 长辈模式 (elderly mode,
//! MIIT 适老化 rules) and accessibility checks computed in the browser
//! (`a11y.js`, `keyboard.js`).
//!
//! Each flow is one `#[tokio::test]` function: start the server with
//! `spawn_app`, seed what the flow needs, `Browser::start()`, drive it, and
//! call `browser.check_page(..)` / `browser.shots(..)` on the pages it visits.
//!
//! The tests skip (saying so) when Chromium or chromedriver is not installed,
//! except under `CI`, where a missing browser fails. Screenshots go to
//! `$LIFESERVICE_ARTIFACTS` (default: `<cargo target dir>/browser-artifacts`)
//! under `screenshots/`.

mod common;

use common::{Backend, TestApp, spawn_app};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use lifeservice::reviews::MemorySender;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

const A11Y_JS: &str = include_str!("a11y.js");
const KEYBOARD_JS: &str = include_str!("keyboard.js");

/// Two browsers at most at once: the machines have two cores.
static BROWSERS: Semaphore = Semaphore::const_new(2);

/// Desktop and phone viewport widths for screenshots and layout checks; 640
/// is a 1280-wide window at 200% zoom.
const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (390, 844);
const ZOOM_200: (u32, u32) = (640, 900);

fn find_program(env: &str, names: &[&str]) -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(env) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// The cargo target directory the test binary runs from
/// (`<target>/debug/deps/browser-HASH`).
fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    exe.ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir)
}

/// Where test artefacts go: `$LIFESERVICE_ARTIFACTS`, else
/// `<target>/browser-artifacts`.
fn artefacts_dir() -> PathBuf {
    std::env::var_os("LIFESERVICE_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| target_dir().join("browser-artifacts"))
}

/// axe-core (npm, MPL-2.0; not vendored: `.ci/run` installs it under the
/// target directory): `$LIFESERVICE_AXE`, else
/// `<target>/axe/node_modules/axe-core/axe.min.js`. Required in CI.
fn axe_source() -> Option<&'static str> {
    static AXE: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    AXE.get_or_init(|| {
        let path = std::env::var_os("LIFESERVICE_AXE")
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir().join("axe/node_modules/axe-core/axe.min.js"));
        match std::fs::read_to_string(&path) {
            Ok(source) => Some(source),
            Err(e) if std::env::var_os("CI").is_some() => {
                panic!("CI: axe-core must be installed at {} ({e})", path.display())
            }
            Err(e) => {
                eprintln!(
                    "axe-core checks SKIPPED: {} not readable ({e}); \
                     npm install --prefix <target>/axe axe-core",
                    path.display()
                );
                None
            }
        }
    })
    .as_deref()
}

/// Runs axe-core on the page: the serious and critical violations.
const AXE_RUN_JS: &str = r#"
const done = arguments[arguments.length - 1];
axe.run(document, { resultTypes: ["violations"] })
  .then(r => done(r.violations
    .filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => "axe " + v.impact + " " + v.id + ": " + v.help + " — "
      + v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "))))
  .catch(e => done(["axe failed: " + e]));
"#;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A chromedriver process and one Chromium session with a fresh profile.
struct Browser {
    client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    _slot: tokio::sync::SemaphorePermit<'static>,
    shots: PathBuf,
    base: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// Starts Chromium for `app`, or `None` (skip) when it is not installed
    /// outside CI. JavaScript can be switched off for the no-JS flows.
    async fn start(app: &TestApp, javascript: bool) -> Option<Browser> {
        let chromium = find_program("CHROME_BIN", &["chromium", "chromium-browser"]);
        let driver = find_program("CHROMEDRIVER", &["chromedriver"]);
        let (Some(chromium), Some(driver)) = (chromium, driver) else {
            if std::env::var_os("CI").is_some() {
                panic!("CI: chromium and chromedriver must be installed (.ci/run installs them)");
            }
            eprintln!(
                "SKIPPED browser test: chromium or chromedriver not installed \
                 (apt-get install chromium chromium-driver); CI fails instead"
            );
            return None;
        };
        let slot = BROWSERS.acquire().await.expect("semaphore");
        let port = free_port();
        let mut driver = Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let webdriver = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while reqwest::get(format!("{webdriver}/status")).await.is_err() {
            if started.elapsed() > Duration::from_secs(20) {
                let _ = driver.kill();
                panic!("chromedriver did not start on port {port}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let profile = tempfile::tempdir().expect("profile dir");
        let mut options = json!({
            "binary": chromium,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
                "--lang=zh-CN", format!("--user-data-dir={}", profile.path().display()),
                format!("--window-size={},{}", DESKTOP.0, DESKTOP.1),
            ],
        });
        if !javascript {
            options["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), options);
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = match ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&webdriver)
            .await
        {
            Ok(c) => c,
            Err(e) => {
                let _ = driver.kill();
                panic!("starting Chromium through chromedriver failed: {e}");
            }
        };
        let shots = artefacts_dir().join("screenshots");
        std::fs::create_dir_all(&shots).expect("artefacts dir");
        Some(Browser {
            client,
            driver,
            _profile: profile,
            _slot: slot,
            shots,
            base: app.addr.clone(),
        })
    }

    async fn close(self) {
        let _ = self.client.clone().close().await;
    }

    async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("open {path}: {e}"));
    }

    /// Path and query of the current page.
    async fn here(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        }
    }

    async fn find(&self, css: &str) -> Element {
        let here = self.here().await;
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("{css} on {here}: {e}"))
    }

    async fn find_all(&self, css: &str) -> Vec<Element> {
        self.client.find_all(Locator::Css(css)).await.unwrap()
    }

    /// The element's text. A page being replaced (a form just submitted) can
    /// turn the element stale between finding and reading it: then it is
    /// read again from the page that replaced it.
    async fn text(&self, css: &str) -> String {
        for _ in 0..50 {
            match self.find(css).await.text().await {
                Err(e) if e.is_stale_element_reference() => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                read => return read.unwrap(),
            }
        }
        panic!("{css} kept going stale")
    }

    /// Clicks and waits for the browser to leave the current page for one
    /// whose path starts with `to`.
    async fn click_to(&self, element: Element, to: &str) {
        let before = self.here().await;
        element.click().await.unwrap();
        self.wait_for(to, Some(&before)).await;
    }

    /// Waits until the current page's path starts with `to`.
    async fn wait_path(&self, to: &str) {
        self.wait_for(to, None).await;
    }

    async fn wait_for(&self, to: &str, leaving: Option<&str>) {
        let started = Instant::now();
        loop {
            let here = self.here().await;
            if here.starts_with(to) && leaving != Some(here.as_str()) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "expected to reach {to}, still on {here}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // The new document is complete (a click may return before it is).
        while !matches!(
            self.client.execute("return document.readyState", vec![]).await,
            Ok(state) if state == json!("complete")
        ) {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{to} never loaded"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}"))
    }

    async fn resize(&self, (width, height): (u32, u32)) {
        self.client.set_window_size(width, height).await.unwrap();
        // A busy machine may report the old width for a moment after the resize.
        let started = Instant::now();
        loop {
            let inner = self.js("return window.innerWidth", vec![]).await;
            if inner == json!(width) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "viewport width {inner} after resizing to {width}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn elder_mode(&self) -> bool {
        self.js("return document.body.classList.contains('elder')", vec![])
            .await
            == json!(true)
    }

    /// Full-page screenshots of the current page at desktop and phone widths,
    /// named `{name}-desktop.png` and `{name}-phone.png`.
    async fn shots(&self, name: &str) {
        // No focus ring left over from the keyboard walk in the pictures.
        self.js(
            "if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0);",
            vec![],
        )
        .await;
        for (label, size) in [("desktop", DESKTOP), ("phone", PHONE)] {
            self.resize(size).await;
            // The window is taller than the viewport by the browser's own frame.
            let height = self
                .js(
                    "return document.documentElement.scrollHeight + window.outerHeight - window.innerHeight",
                    vec![],
                )
                .await
                .as_u64()
                .unwrap_or(size.1 as u64)
                .clamp(size.1 as u64, 8000) as u32;
            self.client.set_window_size(size.0, height).await.unwrap();
            let png = self.client.screenshot().await.unwrap();
            assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
            std::fs::write(self.shots.join(format!("{name}-{label}.png")), png).unwrap();
        }
        self.resize(DESKTOP).await;
    }

    /// The in-browser checks (`a11y.js`) at desktop, phone and 200%-zoom
    /// widths, and the keyboard walk at desktop width; panics listing every
    /// problem found.
    async fn check_page(&self, page: &str) {
        let (mode, problems) = self.problems().await;
        assert!(
            problems.is_empty(),
            "{page} ({mode} mode, {}): {} accessibility problems:\n{}",
            self.here().await,
            problems.len(),
            problems.join("\n")
        );
    }

    /// The mode of the page and every problem the checks find on it.
    async fn problems(&self) -> (&'static str, Vec<String>) {
        let mode = if self.elder_mode().await {
            "elder"
        } else {
            "normal"
        };
        let mut problems = Vec::new();
        for size in [DESKTOP, ZOOM_200, PHONE] {
            self.resize(size).await;
            let found = self.js(A11Y_JS, vec![json!(mode)]).await;
            for p in found.as_array().unwrap() {
                problems.push(format!("{}px: {}", size.0, p.as_str().unwrap()));
            }
        }
        self.resize(DESKTOP).await;
        if let Some(axe) = axe_source() {
            self.js(&format!("{axe}\nreturn true;"), vec![]).await;
            let found = self
                .client
                .execute_async(AXE_RUN_JS, vec![])
                .await
                .unwrap_or_else(|e| panic!("axe-core failed: {e}"));
            for p in found.as_array().unwrap() {
                problems.push(p.as_str().unwrap().to_string());
            }
        }
        problems.extend(self.keyboard_problems().await);
        (mode, problems)
    }

    /// Tabs through the whole page: every interactive element must be
    /// reached, each showing a visible focus ring when it is.
    async fn keyboard_problems(&self) -> Vec<String> {
        let walk = self.js(KEYBOARD_JS, vec![]).await;
        let targets = walk["stops"].as_u64().unwrap() as usize;
        let presses = walk["presses"].as_u64().unwrap() as usize;
        let mut keys = KeyActions::new("keyboard".into());
        for _ in 0..presses + 2 {
            keys = keys
                .then(KeyAction::Down {
                    value: Key::Tab.into(),
                })
                .then(KeyAction::Up {
                    value: Key::Tab.into(),
                })
                // A frame on each stop, so that keyboard.js's second look at a
                // ring that was not drawn yet happens while it still has focus
                // (a busy machine can send the next Tab before the next frame).
                .then(KeyAction::Pause {
                    duration: Duration::from_millis(20),
                });
        }
        self.client.perform_actions(keys).await.unwrap();
        // Two frames, so the second looks of keyboard.js have run.
        let log = self
            .js(
                "return new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(window.__focusLog))))",
                vec![],
            )
            .await;
        let mut problems = Vec::new();
        for entry in log.as_array().unwrap() {
            if entry["ring"] != json!(true) {
                problems.push(format!(
                    "no visible focus on {}",
                    entry["label"].as_str().unwrap_or_default()
                ));
            }
        }
        let missed = self
            .js(
                "const got = new Set(window.__focusLog.map(e => e.idx));
                 return [...document.querySelectorAll('[data-kb]')].filter(e => !got.has(e.getAttribute('data-kb')))
                   .map(e => e.tagName.toLowerCase() + ' «' + (e.textContent || e.getAttribute('aria-label') || '').trim().slice(0, 30) + '»');",
                vec![],
            )
            .await;
        let missed: Vec<&str> = missed
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if !missed.is_empty() {
            problems.push(format!(
                "{} of {targets} interactive elements not reached with Tab, e.g. {}",
                missed.len(),
                missed[..missed.len().min(5)].join(", ")
            ));
        }
        problems
    }

    /// Turns 长辈模式 on or off with the switch in the header (a plain link)
    /// and checks that it comes back to the same page.
    async fn switch_elder_mode(&self, on: bool) {
        let here = self.here().await;
        let switch = self.find("header .mode-switch").await;
        let label = switch.text().await.unwrap();
        assert_eq!(
            label,
            if on {
                "长辈模式"
            } else {
                "退出长辈模式"
            },
            "switch label on {here}"
        );
        switch.click().await.unwrap();
        let started = Instant::now();
        while !matches!(
            self.client.execute("return document.readyState === 'complete' ? document.body.classList.contains('elder') : null", vec![]).await,
            Ok(elder) if elder == json!(on)
        ) {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "body.elder is not {on} after switching on {here}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(self.here().await, here, "the switch comes back to the page");
    }
}

/// A resident searches, filters and opens a provider (normal mode), then
/// turns on 长辈模式, which is remembered from page to page; every page
/// passes the accessibility checks in both modes; 朗读 reads the page.
#[tokio::test]
async fn resident_searches_filters_and_opens_a_provider() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(app.seed_outlets().await.inserted, 3);
    let Some(b) = Browser::start(&app, true).await else {
        return;
    };

    b.goto("/").await;
    assert_eq!(b.text("h1").await, "找身边放心的生活服务");
    b.check_page("home").await;
    b.shots("resident-home").await;

    // Search from the home page with the keyboard: type, then Enter.
    let q = b.find("#q").await;
    q.send_keys("家政").await.unwrap();
    q.send_keys(&char::from(Key::Enter).to_string())
        .await
        .unwrap();
    b.wait_path("/search?q=").await;
    assert!(b.text("main").await.contains("共找到 2 个服务网点"));
    let names: Vec<String> = futures_text(&b, "ol.results li a strong").await;
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.iter().all(|n| n.contains("安心家政")), "{names:?}");

    // Filter: housekeeping (0101) in 太原市.
    let filter = b.find("form.search select[name=type]").await;
    filter.select_by_value("0101").await.unwrap();
    b.find("form.search select[name=division]")
        .await
        .select_by_value("1401")
        .await
        .unwrap();
    let button = b.find("form.search select[name=division]").await;
    let form = button.find(Locator::XPath("ancestor::form")).await.unwrap();
    let submit = form.find(Locator::Css("button")).await.unwrap();
    b.click_to(submit, "/search?").await;
    let here = b.here().await;
    assert!(
        here.contains("type=0101") && here.contains("division=1401"),
        "{here}"
    );
    assert!(b.text("main").await.contains("共找到 2 个服务网点"));
    assert!(b.text("main").await.contains("地区：太原市"));
    b.check_page("search results").await;
    b.shots("resident-search").await;

    // Open the first result, then the provider (一站式查询).
    let first = b.find("ol.results li a").await;
    let outlet_name = first.text().await.unwrap();
    b.click_to(first, "/outlets/").await;
    assert_eq!(b.text("h1").await, outlet_name);
    assert!(b.text("dl.facts").await.contains("家政服务"));
    b.check_page("outlet").await;
    b.shots("resident-outlet").await;
    let provider = b.find("a.button").await;
    b.click_to(provider, "/entities/91350200776049653A").await;
    assert_eq!(b.text("h1").await, "山西安心生活服务有限公司");
    assert_eq!(b.find_all("ul.results li").await.len(), 3);
    b.check_page("provider").await;
    b.shots("resident-provider").await;

    // 长辈模式: switched on from the page itself, remembered everywhere.
    b.switch_elder_mode(true).await;
    b.check_page("provider, elder mode").await;
    b.shots("elder-provider").await;
    b.goto("/").await;
    assert!(b.elder_mode().await, "elder mode is remembered");
    b.check_page("home, elder mode").await;
    // Main tasks first: on a phone the search box is on the first screen.
    b.resize(PHONE).await;
    let search_top = b
        .js(
            "return document.getElementById('q').getBoundingClientRect().bottom <= window.innerHeight",
            vec![],
        )
        .await;
    assert_eq!(search_top, json!(true), "search box on the first screen");
    b.resize(DESKTOP).await;
    b.shots("elder-home").await;
    b.goto("/search?q=%E5%AE%B6%E6%94%BF").await;
    b.check_page("search, elder mode").await;
    b.shots("elder-search").await;
    let first = b.find("ol.results li a").await;
    b.click_to(first, "/outlets/").await;
    b.check_page("outlet, elder mode").await;
    b.shots("elder-outlet").await;

    // 朗读 reads the main content through speech synthesis.
    let read = b.find("#read-aloud").await;
    assert!(
        read.is_displayed().await.unwrap(),
        "朗读 shown where speech synthesis exists"
    );
    b.js(
        "window.__spoken = []; speechSynthesis.speak = u => window.__spoken.push([u.text, u.lang]);",
        vec![],
    )
    .await;
    read.click().await.unwrap();
    let spoken = b.js("return window.__spoken", vec![]).await;
    let text = spoken[0][0].as_str().unwrap_or_else(|| panic!("{spoken}"));
    assert!(text.contains(&outlet_name), "{text}");
    assert_eq!(spoken[0][1], "zh-CN");
    assert_eq!(read.text().await.unwrap(), "停止朗读");

    b.goto("/login").await;
    b.check_page("sign-in, elder mode").await;
    b.switch_elder_mode(false).await;
    b.goto("/").await;
    assert!(!b.elder_mode().await, "standard mode is remembered too");
    b.close().await;
}

/// The texts of all elements matching `css`.
async fn futures_text(b: &Browser, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in b.find_all(css).await {
        out.push(e.text().await.unwrap());
    }
    out
}

/// Search, filter, open a provider and switch 长辈模式 with JavaScript off.
#[tokio::test]
async fn core_flows_work_without_javascript() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(app.seed_outlets().await.inserted, 3);
    let Some(b) = Browser::start(&app, false).await else {
        return;
    };
    b.goto("/").await;
    // Without scripts 朗读 stays hidden (the JS flow above shows it).
    assert!(!b.find("#read-aloud").await.is_displayed().await.unwrap());
    b.find("#q").await.send_keys("便利店").await.unwrap();
    let submit = b.find("form.search button").await;
    b.click_to(submit, "/search?q=").await;
    assert!(b.text("main").await.contains("共找到 1 个服务网点"));
    b.find("form.search select[name=type]")
        .await
        .select_by_value("0701")
        .await
        .unwrap();
    let filter = b.find_all("form.search button").await.pop().unwrap();
    b.click_to(filter, "/search?").await;
    assert!(b.here().await.contains("type=0701"));
    let first = b.find("ol.results li a").await;
    b.click_to(first, "/outlets/").await;
    assert_eq!(b.text("h1").await, "安心便利店");
    let provider = b.find("a.button").await;
    b.click_to(provider, "/entities/").await;
    b.switch_elder_mode(true).await;
    b.goto("/search").await;
    assert!(b.elder_mode().await);
    b.close().await;
}

/// A department officer signs in, uploads an Excel file with good and bad
/// rows, and sees the accepted rows counted and each rejected row with its reason.
#[tokio::test]
async fn officer_uploads_excel_and_sees_accepted_and_rejected_rows() {
    let app = spawn_app(Backend::Sqlite).await;
    let role = lifeservice::auth::Role::parse("department", "0101,03").unwrap();
    lifeservice::auth::add_user(
        &app.state.db,
        "minzheng",
        "省民政厅",
        "test-password-1",
        &role,
    )
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("网点导入.xlsx");
    write_outlets_xlsx(&xlsx);
    let Some(b) = Browser::start(&app, true).await else {
        return;
    };

    b.goto("/admin/import").await;
    b.wait_path("/login").await;
    b.check_page("sign-in").await;
    b.shots("officer-login").await;
    b.find("input[name=username]")
        .await
        .send_keys("minzheng")
        .await
        .unwrap();
    b.find("input[name=password]")
        .await
        .send_keys("test-password-1")
        .await
        .unwrap();
    let submit = b.find("main form button[type=submit]").await;
    b.click_to(submit, "/admin").await;
    assert!(b.text("main").await.contains("省民政厅"));
    let import = b.find("a[href='/admin/import']").await;
    b.click_to(import, "/admin/import").await;
    b.check_page("import form").await;

    b.find("input[type=file]")
        .await
        .send_keys(&xlsx.display().to_string())
        .await
        .unwrap();
    let upload = b.find("main form button[type=submit]").await;
    upload.click().await.unwrap();
    let started = Instant::now();
    while !b.text("h1").await.contains("导入结果") {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "no import result"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(b.text("h1").await.contains("网点导入.xlsx"));
    assert_eq!(b.text("p.ok").await, "共6行：新增2，更新0，未变0，拒绝4");
    let mut rejects = Vec::new();
    for row in b.find_all("main table tbody tr").await {
        let cells = row.find_all(Locator::Css("td")).await.unwrap();
        let mut texts = Vec::new();
        for c in cells {
            texts.push(c.text().await.unwrap());
        }
        rejects.push(texts);
    }
    let summary: Vec<(&str, &str)> = rejects
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("4", "统一社会信用代码"),
            ("5", "经度"),
            ("6", "服务类型"),
            ("7", "服务类型")
        ],
        "{rejects:?}"
    );
    assert!(rejects[0][2].contains("校验位"), "{rejects:?}");
    assert!(rejects[2][2].contains("无权限"), "{rejects:?}");
    b.check_page("import result").await;
    b.shots("officer-import-result").await;
    b.goto("/admin/import").await;
    b.switch_elder_mode(true).await;
    b.check_page("import form with history, elder mode").await;
    b.shots("elder-officer-import").await;

    // The accepted rows are on the portal.
    let portal = b.find("a[href='/search']").await;
    b.click_to(portal, "/search").await;
    b.goto("/search?q=%E5%AE%89%E5%BF%83").await;
    let names = futures_text(&b, "ol.results li a strong").await;
    assert_eq!(names.len(), 2, "{names:?}");
    b.close().await;
}

/// The 生活圈 page of 小店区 shows its map with graded communities, and a
/// format's gaps with the suggested sites, in both modes.
#[tokio::test]
async fn life_circle_page_shows_map_and_gaps() {
    let app = spawn_app(Backend::Sqlite).await;
    let network = app.state.circles.network_path().to_path_buf();
    lifeservice::demo::generate_circles(&app.state.db, &network, 5)
        .await
        .unwrap();
    app.state.circles.rebuild(&app.state.db).await.unwrap();
    let Some(b) = Browser::start(&app, true).await else {
        return;
    };

    b.goto("/circles").await;
    let xiaodian = b.find("a[href='/circles/140105']").await;
    b.click_to(xiaodian, "/circles/140105").await;
    assert!(b.text("h1").await.contains("小店区"));
    let graded = b.find_all("svg.map a circle[class^=grade-]").await.len();
    assert!(graded > 100, "communities on the map: {graded}");
    let legend = b.text("p.legend").await;
    for grade in ["未达标", "基础型"] {
        assert!(
            legend.contains(grade),
            "legend names grades in text: {legend}"
        );
    }
    b.check_page("life circle").await;
    b.shots("circle-area").await;

    // Gaps for the first format, with suggested sites on the map and in a list.
    let gaps = b
        .find("a[href^='/circles/140105?format='][href$='#gaps']")
        .await;
    b.click_to(gaps, "/circles/140105?format=").await;
    assert!(b.text("#gaps").await.contains("缺口与建议选址"));
    let sites = b.find_all("ol li[id^=site-]").await.len();
    let on_map = b.find_all("svg.map circle.site").await.len();
    assert!(
        sites >= 1 && sites == on_map,
        "{sites} sites, {on_map} on the map"
    );
    b.check_page("life circle gaps").await;
    b.shots("circle-gaps").await;

    b.switch_elder_mode(true).await;
    assert!(
        b.find_all("svg.map a").await.is_empty(),
        "in elder mode the map is a picture; communities are linked from the list"
    );
    b.check_page("life circle gaps, elder mode").await;
    b.shots("elder-circle-gaps").await;
    b.close().await;
}

/// The other public pages pass the same checks in both modes.
#[tokio::test]
async fn other_public_pages_pass_the_checks() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(app.seed_outlets().await.inserted, 3);
    // Licences, penalties and inspections on the provider's credit section.
    lifeservice::credit::demo::generate_credit(&app.state.db, 1, 1)
        .await
        .unwrap();
    let Some(b) = Browser::start(&app, true).await else {
        return;
    };
    let pages = [
        "/divisions/14",
        "/divisions/140105",
        "/service-types",
        "/plan",
        "/plan?q=养老",
        "/plan/tasks/1",
        "/plan/units/U01",
        "/plan/cities/1401",
        "/circles",
        "/credit",
        "/entities/91350200776049653A",
        "/outlets/999999",
        "/stats",
        "/stats?indicator=satisfaction&division=140105&period=quarter&category=01",
        "/releases",
        "/open-data",
        "/open-data/outlets",
    ];
    for elder in [false, true] {
        for path in pages {
            b.goto(path).await;
            if b.elder_mode().await != elder {
                b.switch_elder_mode(elder).await;
            }
            b.check_page(path).await;
        }
    }
    b.close().await;
}

/// Staff accounts of the 好差评 flows: the entity of `outlets_csv()` and the
/// department responsible for its housekeeping and retail outlets.
async fn add_review_staff(app: &TestApp) {
    for (username, name, role, scope) in [
        (
            "anxin",
            "山西安心生活服务有限公司",
            "entity",
            "91350200776049653A",
        ),
        ("shangwu", "省商务厅", "department", "01,07"),
    ] {
        let role = lifeservice::auth::Role::parse(role, scope).unwrap();
        lifeservice::auth::add_user(&app.state.db, username, name, "test-password-1", &role)
            .await
            .unwrap();
    }
}

/// Signs a staff account in through the sign-in page (after leaving any
/// other session: cookies are cleared, 长辈模式 with them).
async fn staff_sign_in(b: &Browser, username: &str) {
    b.client.delete_all_cookies().await.unwrap();
    b.goto("/login").await;
    b.find("input[name=username]")
        .await
        .send_keys(username)
        .await
        .unwrap();
    b.find("input[name=password]")
        .await
        .send_keys("test-password-1")
        .await
        .unwrap();
    let submit = b.find("main form button[type=submit]").await;
    b.click_to(submit, "/admin").await;
}

/// A resident signs in on a page's phone form with the code the server
/// "sent" (read from the test's code sender), and comes back to `back`.
async fn resident_sign_in(b: &Browser, sender: &MemorySender, phone: &str, back: &str) {
    b.find("#phone").await.send_keys(phone).await.unwrap();
    let send = b.find("form[action$='/code'] button").await;
    b.click_to(send, back).await;
    assert!(b.here().await.contains("sent=1"), "code step");
    let code = sender.last_code(phone).expect("a code was sent");
    b.find("#code").await.send_keys(&code).await.unwrap();
    let sign_in = b.find("form[action$='/sign-in'] button").await;
    b.click_to(sign_in, back).await;
}

/// The id of the outlet named `name`.
async fn outlet_id(app: &TestApp, name: &str) -> i64 {
    sqlx::query_scalar("SELECT id FROM outlets WHERE name = $1")
        .bind(name.to_string())
        .fetch_one(app.state.db.pool())
        .await
        .unwrap()
}

/// Issue #9, the 好差评 loop on the web: a resident rates an outlet 不满意
/// after signing in with phone and code; the entity signs in, sees the case,
/// replies in public and records the contact and the rectification; the
/// resident comes back and rates the rectification (回访), which closes the
/// case on the entity's and the officer's pages; the outlet page shows the
/// reply. Every new page passes the checks in both modes.
#[tokio::test]
async fn resident_bad_review_entity_replies_follow_up_closes_case() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(app.seed_outlets().await.inserted, 3);
    add_review_staff(&app).await;
    let sender = Arc::new(MemorySender::default());
    app.state.reviews.set_sender(sender.clone());
    let outlet = outlet_id(&app, "安心家政（师范街店）").await;
    let phone = "13912345678";
    let Some(b) = Browser::start(&app, true).await else {
        return;
    };

    // The resident: phone and code, then 不满意 with aspects and a text.
    let form = format!("/outlets/{outlet}/review");
    b.goto(&form).await;
    b.check_page("rating form, sign-in").await;
    resident_sign_in(&b, &sender, phone, &form).await;
    // Checked before typing: the keyboard walk starts from the page's top.
    b.check_page("rating form, signed in").await;
    b.find("input[name=rating][value='2']")
        .await
        .click()
        .await
        .unwrap();
    for (aspect, value) in [("price", "1"), ("attitude", "2")] {
        b.find(&format!("select[name=aspect_{aspect}]"))
            .await
            .select_by_value(value)
            .await
            .unwrap();
    }
    b.find("textarea[name=text]")
        .await
        .send_keys("收费和说好的不一样，师傅态度也不好")
        .await
        .unwrap();
    let submit = b
        .find(&format!("main form[action='{form}'] button[type=submit]"))
        .await;
    b.click_to(submit, &format!("{form}?done=1")).await;
    assert!(b.text("main").await.contains("感谢您的评价"));

    // The entity: its reviews, bad first, with the case and its deadlines.
    staff_sign_in(&b, "anxin").await;
    let desk = b.find("a[href='/admin/reviews']").await;
    b.click_to(desk, "/admin/reviews").await;
    let first = b.text("ol.results li").await;
    assert!(
        first.contains("收费和说好的不一样")
            && first.contains("差评")
            && first.contains("待联系评价人"),
        "{first}"
    );
    assert!(
        b.text("p.summary")
            .await
            .contains("待处理的差评整改工单 1 件")
    );
    b.check_page("entity reviews").await;
    b.shots("entity-reviews").await;
    let open = b.find("ol.results li a").await;
    b.click_to(open, "/admin/reviews/").await;
    let review_page = b.here().await;
    let case = b.text("#case").await;
    assert!(case.contains("待联系评价人"), "{case}");
    assert!(
        case.contains("还剩") || case.contains("今天到期"),
        "deadline in words: {case}"
    );
    b.check_page("entity review with its case").await;
    b.shots("entity-review-case").await;

    // Reply once in public, then contact and rectification with their notes.
    b.find("#reply-text")
        .await
        .send_keys("非常抱歉，已安排店长联系您退还多收的费用")
        .await
        .unwrap();
    let reply = b.find("#reply form button").await;
    b.click_to(reply, &format!("{review_page}?done=reply"))
        .await;
    assert!(b.text("#reply blockquote").await.contains("非常抱歉"));
    assert!(
        b.find_all("#reply form").await.is_empty(),
        "one reply per review"
    );
    for (step, note) in [
        ("contact", "已通过回复致歉，并请社区协助电话联系顾客"),
        ("rectify", "已退还多收费用，在店内公示价目表"),
    ] {
        b.find(&format!("#{step}-note"))
            .await
            .send_keys(note)
            .await
            .unwrap();
        let button = b.find(&format!("form[action$='/{step}'] button")).await;
        b.click_to(button, &format!("{review_page}?done={step}"))
            .await;
    }
    let case = b.text("#case").await;
    assert!(
        case.contains("已整改，待评价人回访") && case.contains("按期"),
        "{case}"
    );
    b.check_page("entity case rectified").await;
    b.switch_elder_mode(true).await;
    b.check_page("entity case rectified, elder mode").await;
    b.shots("elder-entity-review-case").await;

    // The resident comes back, signs in again and rates the rectification.
    b.client.delete_all_cookies().await.unwrap();
    b.goto("/reviews/mine").await;
    b.check_page("my reviews, sign-in").await;
    resident_sign_in(&b, &sender, phone, "/reviews/mine").await;
    let mine = b.text("main").await;
    assert!(
        mine.contains("非常抱歉") && mine.contains("已整改，待评价人回访"),
        "{mine}"
    );
    b.check_page("my reviews, follow-up").await;
    b.shots("resident-follow-up").await;
    b.switch_elder_mode(true).await;
    b.check_page("my reviews, follow-up, elder mode").await;
    b.shots("elder-resident-follow-up").await;
    b.find("input[name=rating][value='4']")
        .await
        .click()
        .await
        .unwrap();
    b.find("textarea[name=text]")
        .await
        .send_keys("已退款，店家态度诚恳")
        .await
        .unwrap();
    let rate = b.find("form[action$='/follow-up'] button").await;
    b.click_to(rate, "/reviews/mine?done=1").await;
    let mine = b.text("main").await;
    assert!(
        mine.contains("整改工单已办结") && mine.contains("已办结（评价人已回访）"),
        "{mine}"
    );
    b.check_page("my reviews, closed, elder mode").await;

    // Closed on the entity's page and on the officer's list.
    staff_sign_in(&b, "anxin").await;
    b.goto(&review_page).await;
    let case = b.text("#case").await;
    assert!(
        case.contains("已办结（评价人已回访）") && case.contains("已退款"),
        "{case}"
    );
    staff_sign_in(&b, "shangwu").await;
    let cases = b.find("a[href='/admin/review-cases']").await;
    b.click_to(cases, "/admin/review-cases").await;
    assert!(
        b.text("main").await.contains("没有符合条件的工单"),
        "no open case left"
    );
    let closed = b.find("a[href='/admin/review-cases?status=closed']").await;
    b.click_to(closed, "/admin/review-cases?status=closed")
        .await;
    let row = b.text("main table tbody tr").await;
    assert!(
        row.contains("安心家政（师范街店）") && row.contains("已办结（评价人已回访）"),
        "{row}"
    );
    b.check_page("officer cases, closed").await;
    b.shots("officer-cases").await;
    b.switch_elder_mode(true).await;
    b.check_page("officer cases, elder mode").await;
    b.shots("elder-officer-cases").await;
    let open = b.find("main table a").await;
    b.click_to(open, &review_page).await;
    assert!(b.text("#case").await.contains("已办结"));
    b.check_page("officer's view of the review, elder mode")
        .await;

    // The public outlet page shows the reply.
    b.goto(&format!("/outlets/{outlet}")).await;
    let reviews = b.text("#reviews").await;
    assert!(
        reviews.contains("商家回复") && reviews.contains("非常抱歉，已安排店长联系您"),
        "{reviews}"
    );
    b.check_page("outlet with a replied review, elder mode")
        .await;
    b.close().await;
}

/// Posts JSON to the API, with a bearer token; the response's JSON.
async fn api_post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> Value {
    let mut request = reqwest::Client::new().post(app.url(path)).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    assert!(response.status().is_success(), "{path}");
    response.json().await.unwrap()
}

/// A reviewer token for `phone`, through the API's code sign-in.
async fn api_reviewer(app: &TestApp, sender: &MemorySender, phone: &str) -> String {
    api_post(app, "/api/v1/reviewer/code", None, json!({"phone": phone})).await;
    let code = sender.last_code(phone).unwrap();
    let session = api_post(
        app,
        "/api/v1/reviewer/session",
        None,
        json!({"phone": phone, "code": code}),
    )
    .await;
    session["token"].as_str().unwrap().to_string()
}

/// A department decides an entity's appeal (a reason is required, and its
/// absence is said beside the field) and publishes a review held as a
/// near-duplicate; both pages pass the checks in both modes.
#[tokio::test]
async fn department_decides_appeals_and_held_reviews() {
    let app = spawn_app(Backend::Sqlite).await;
    assert_eq!(app.seed_outlets().await.inserted, 3);
    add_review_staff(&app).await;
    let sender = Arc::new(MemorySender::default());
    app.state.reviews.set_sender(sender.clone());
    let outlet = outlet_id(&app, "安心家政（八一店）").await;
    let path = format!("/api/v1/outlets/{outlet}/reviews");
    let first = api_reviewer(&app, &sender, "13812345678").await;
    let bad = api_post(
        &app,
        &path,
        Some(&first),
        json!({"rating": 1, "text": "竞争对手让我来打差评的"}),
    )
    .await;
    let second = api_reviewer(&app, &sender, "13712345678").await;
    api_post(
        &app,
        &path,
        Some(&second),
        json!({"rating": 5, "text": "保洁阿姨专业细致"}),
    )
    .await;
    let third = api_reviewer(&app, &sender, "13612345678").await;
    let held = api_post(
        &app,
        &path,
        Some(&third),
        json!({"rating": 5, "text": "保洁阿姨 专业细致！"}),
    )
    .await;
    assert_eq!(held["status"], "held");
    let Some(b) = Browser::start(&app, true).await else {
        return;
    };

    // The entity appeals on its review page.
    staff_sign_in(&b, "anxin").await;
    b.goto(&format!("/admin/reviews/{}", bad["id"])).await;
    b.find("#appeal-kind")
        .await
        .select_by_value("malicious")
        .await
        .unwrap();
    b.find("#appeal-reason")
        .await
        .send_keys("评价人自述受竞争对手指使")
        .await
        .unwrap();
    let file = b.find("#appeal form button").await;
    b.click_to(file, &format!("/admin/reviews/{}?done=appeal", bad["id"]))
        .await;
    assert!(b.text("#appeal").await.contains("待主管部门决定"));

    // The department: a decision needs a reason; one too short is refused beside the field.
    staff_sign_in(&b, "shangwu").await;
    let appeals = b.find("a[href='/admin/review-appeals']").await;
    b.click_to(appeals, "/admin/review-appeals").await;
    assert!(b.text("main").await.contains("评价人自述受竞争对手指使"));
    b.check_page("appeals").await;
    b.shots("officer-appeals").await;
    b.find("textarea[name=reason]")
        .await
        .send_keys("否")
        .await
        .unwrap();
    let reject = b.find("main form button[value=reject]").await;
    b.click_to(reject, "/admin/review-appeals/").await;
    let error = b.text(".field-error").await;
    assert!(error.contains("决定理由不能为空"), "{error}");
    b.check_page("appeals, refused decision").await;
    let reason = b.find("textarea[name=reason]").await;
    reason.clear().await.unwrap();
    reason
        .send_keys("评价内容自认受人指使，属恶意评价")
        .await
        .unwrap();
    let uphold = b.find("main form button[value=uphold]").await;
    b.click_to(uphold, "/admin/review-appeals?done=1").await;
    assert!(b.text("main").await.contains("没有待决定的申诉"));

    // The held review, published with a reason.
    b.goto("/admin/review-moderation").await;
    assert!(b.text("main").await.contains("疑似重复内容"));
    b.check_page("moderation").await;
    b.shots("officer-moderation").await;
    b.switch_elder_mode(true).await;
    b.check_page("moderation, elder mode").await;
    b.shots("elder-officer-moderation").await;
    b.find("textarea[name=reason]")
        .await
        .send_keys("核实为真实消费")
        .await
        .unwrap();
    let publish = b.find("main form button[value=publish]").await;
    b.click_to(publish, "/admin/review-moderation?done=1").await;
    assert!(b.text("main").await.contains("没有待审核的评价"));
    b.goto("/admin/review-appeals").await;
    b.check_page("appeals, none left, elder mode").await;
    b.close().await;
}

/// The checks themselves: a page that breaks every rule they enforce gets
/// every problem reported (so a passing page means something).
#[tokio::test]
async fn the_checks_catch_a_page_that_breaks_the_rules() {
    let app = spawn_app(Backend::Sqlite).await;
    let Some(b) = Browser::start(&app, true).await else {
        return;
    };
    let page = r##"<!doctype html><html><head><meta charset="utf-8"><title>坏页面</title><style>
        body { font-size:14px; line-height:1.1; } .low { color:#aaa; }
        .ad { position:fixed; top:0; right:0; } a.tiny { font-size:10px; text-decoration:none; }
        #no-ring:focus { outline:none; box-shadow:none; }
        </style></head><body class="elder"><main><h1>坏页面</h1>
        <p class="low">浅色文字</p>
        <p><input name="nolabel"></p>
        <img src="/none.png" width="20" height="20">
        <svg width="10" height="10"><circle r="4" cx="5" cy="5"/></svg>
        <p>文字 <a class="tiny" href="#x">小链接</a></p>
        <button id="no-ring">没有焦点框</button>
        <div inert><a href="#y">够不着</a></div>
        <div class="ad">浮动广告</div>
        <div style="width:2000px">很宽的内容</div>
        </main></body></html>"##;
    let url: String = page
        .bytes()
        .map(|c| match c {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (c as char).to_string(),
            _ => format!("%{c:02X}"),
        })
        .collect();
    b.client
        .goto(&format!("data:text/html;charset=utf-8,{url}"))
        .await
        .unwrap();
    let (mode, problems) = b.problems().await;
    assert_eq!(mode, "elder");
    let all = problems.join("\n");
    for expected in [
        "html lang is null",
        "img without alt",
        "svg without a text alternative",
        "form control without a label",
        "link in text not underlined",
        "contrast",
        "font 14px below 24px",
        "line height",
        "below 60×60",
        "position fixed",
        "scrolls sideways",
        "not reached with Tab",
        "no visible focus on button «没有焦点框»",
    ] {
        assert!(
            all.contains(expected),
            "{expected:?} not reported in:\n{all}"
        );
    }
    if axe_source().is_some() {
        for rule in ["image-alt", "label", "html-has-lang", "color-contrast"] {
            assert!(
                all.contains(&format!(" {rule}:")),
                "axe {rule} not reported in:\n{all}"
            );
        }
    }
    b.close().await;
}

/// The registry of `outlets_csv()`: three outlets of one provider in 小店区.
/// An Excel file as a department sends it: two good rows, then a bad credit
/// code, a point outside Shanxi, a type outside the officer's scope and an
/// unknown type.
fn write_outlets_xlsx(path: &Path) {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    let rows: [[&str; 8]; 7] = [
        [
            "统一社会信用代码",
            "主体名称",
            "名称",
            "服务类型",
            "地址",
            "经度",
            "纬度",
            "联系电话",
        ],
        [
            "91350200776049653A",
            "山西安心生活服务有限公司",
            "安心家政（坞城店）",
            "0101",
            "太原市小店区坞城路92号",
            "112.585",
            "37.775",
            "0351-7001234",
        ],
        [
            "91350200776049653A",
            "山西安心生活服务有限公司",
            "安心养老院",
            "0301",
            "太原市小店区坞城南路12号",
            "112.580",
            "37.770",
            "",
        ],
        [
            "91350200776049653B",
            "某公司",
            "坏代码家政",
            "0101",
            "太原市小店区某路1号",
            "112.585",
            "37.775",
            "",
        ],
        [
            "91350200776049653A",
            "山西安心生活服务有限公司",
            "北京家政",
            "0101",
            "北京市东城区",
            "116.40",
            "39.90",
            "",
        ],
        [
            "91350200776049653A",
            "山西安心生活服务有限公司",
            "安心便利店",
            "便利店",
            "太原市小店区许坦东街5号",
            "112.590",
            "37.780",
            "",
        ],
        [
            "91350200776049653A",
            "山西安心生活服务有限公司",
            "算命馆",
            "算命",
            "太原市小店区某路2号",
            "112.585",
            "37.775",
            "",
        ],
    ];
    for (r, row) in rows.iter().enumerate() {
        for (c, value) in row.iter().enumerate() {
            let (r, c) = (r as u32, c as u16);
            match value.parse::<f64>() {
                Ok(n) if r > 0 && (c == 5 || c == 6) => sheet.write_number(r, c, n),
                _ => sheet.write_string(r, c, *value),
            }
            .unwrap();
        }
    }
    workbook.save(path).unwrap();
}
