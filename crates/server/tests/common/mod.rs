//! Test support: start the real server on a random port with a fresh
//! database (a SQLite temp file, or a PostgreSQL schema of its own) and a
//! fresh search index.

#![allow(dead_code)]

use lifeservice::app::{AppState, router, spawn_index_follower};
use lifeservice::search::SearchIndex;
use lifeservice::storage::Db;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub addr: String,
    pub state: AppState,
    pub db_url: String,
    _dir: tempfile::TempDir,
    schema: Option<String>,
}

const DEFAULT_PG: &str = "postgres://postgres@127.0.0.1:5432/test";

/// The PostgreSQL URL to test against, or `None` where there is none. In CI
/// (CI=true) PostgreSQL must be there: a missing server fails the run.
pub async fn postgres_url() -> Option<String> {
    let url = std::env::var("LIFESERVICE_TEST_PG").unwrap_or_else(|_| DEFAULT_PG.to_string());
    sqlx::any::install_default_drivers();
    match sqlx::AnyPool::connect(&url).await {
        Ok(pool) => {
            pool.close().await;
            Some(url)
        }
        Err(e) if std::env::var("CI").is_ok() => {
            panic!("PostgreSQL at {url} is required in CI: {e}")
        }
        Err(e) => {
            eprintln!("skipping PostgreSQL: {url} unreachable ({e})");
            None
        }
    }
}

/// The backends to run a storage test on.
pub async fn backends() -> Vec<Backend> {
    let mut list = vec![Backend::Sqlite];
    if postgres_url().await.is_some() {
        list.push(Backend::Postgres);
    }
    list
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    let (db_url, dir, schema) = fresh_database(backend).await;
    let mut app = start(db_url, dir).await;
    app.schema = schema;
    app
}

/// The URL of an empty database (a SQLite file in the returned folder, or a
/// PostgreSQL schema of its own, named last, for [`drop_schema`]).
pub async fn fresh_database(backend: Backend) -> (String, tempfile::TempDir, Option<String>) {
    let dir = tempfile::tempdir().expect("temp dir");
    match backend {
        Backend::Sqlite => {
            let url = format!("sqlite:{}", dir.path().join("test.db").display());
            (url, dir, None)
        }
        Backend::Postgres => {
            let base = postgres_url().await.expect("postgres available");
            let schema = format!("t_{}", &lifeservice::auth::new_token()[..16]);
            let sep = if base.contains('?') { '&' } else { '?' };
            (format!("{base}{sep}schema={schema}"), dir, Some(schema))
        }
    }
}

pub async fn drop_schema(schema: &str) {
    let base = postgres_url().await.unwrap();
    let pool = sqlx::AnyPool::connect(&base).await.unwrap();
    sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&pool)
        .await
        .unwrap();
}

/// Another server process on the database at `db_url`, with its own search
/// index and life-circle state, as a second app server would have.
pub async fn spawn_app_on(db_url: &str) -> TestApp {
    start(db_url.to_string(), tempfile::tempdir().expect("temp dir")).await
}

async fn start(db_url: String, dir: tempfile::TempDir) -> TestApp {
    let db = Db::open(&db_url).await.expect("open database");
    let search = Arc::new(SearchIndex::open(&dir.path().join("index")).expect("open index"));
    let circles = lifeservice::circle::CircleService::new(dir.path().join("network.bin"));
    let state = AppState::new(db, search, circles);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = format!("http://{}", listener.local_addr().unwrap());
    spawn_index_follower(state.clone());
    let app = router(state.clone()).into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestApp {
        addr,
        state,
        db_url,
        _dir: dir,
        schema: None,
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.addr, path)
    }

    pub fn client(&self) -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    }

    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::get(self.url(path)).await.unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json().await.unwrap_or(serde_json::Value::Null),
        )
    }

    /// A page as an anonymous visitor gets it: status and body.
    pub async fn get_text(&self, path: &str) -> (u16, String) {
        let response = reqwest::get(self.url(path)).await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }

    /// A page's body as `client` (with its cookies) gets it.
    pub async fn text_as(&self, client: &reqwest::Client, path: &str) -> String {
        client
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// A cookie-keeping client signed in as `username` (made by [`Self::add_user`]).
    pub async fn staff(&self, username: &str) -> reqwest::Client {
        let client = self.client();
        let login = client
            .post(self.url("/login"))
            .form(&[("username", username), ("password", "test-password-1")])
            .send()
            .await
            .unwrap();
        assert_eq!(login.status().as_u16(), 303, "{username} signs in");
        client
    }

    pub async fn add_user(&self, username: &str, role: &str, scope: &str) -> String {
        let role = lifeservice::auth::Role::parse(role, scope).unwrap();
        let id = lifeservice::auth::add_user(
            &self.state.db,
            username,
            username,
            "test-password-1",
            &role,
        )
        .await
        .unwrap();
        lifeservice::auth::create_api_token(&self.state.db, id, "test")
            .await
            .unwrap()
    }

    /// Drops the PostgreSQL schema this test created.
    pub async fn cleanup(self) {
        if let Some(schema) = &self.schema {
            drop_schema(schema).await;
        }
    }
}

impl TestApp {
    /// Imports [`outlets_csv`] as the command line would: three outlets of one
    /// entity in 小店区, and four rejected rows.
    pub async fn seed_outlets(&self) -> lifeservice::registry::import::ImportReport {
        use lifeservice::registry::import::{ImportOptions, Table, import_table};
        let options = ImportOptions {
            datum: Default::default(),
            actor: "test".into(),
            synthetic: false,
            principal: None,
        };
        let table = Table::read(outlets_csv().as_bytes()).unwrap();
        let report = import_table(
            &self.state.db,
            lifeservice::registry::fields::RecordKind::Outlets,
            table,
            &options,
            None,
        )
        .await
        .unwrap();
        self.state.refresh_index().await;
        report
    }
}

/// A small outlets CSV: three good rows in 小店区 and bad rows of every kind.
pub fn outlets_csv() -> String {
    [
        "统一社会信用代码,主体名称,名称,服务类型,地址,所属社区,经度,纬度,联系电话",
        "91350200776049653A,山西安心生活服务有限公司,安心家政（师范街店）,家政服务点,太原市小店区坞城路92号,师范街社区,112.585,37.775,0351-7001234",
        "91350200776049653A,山西安心生活服务有限公司,安心家政（八一店）,0101,太原市小店区坞城南路12号,140105001003,112.580,37.770,",
        "91350200776049653A,山西安心生活服务有限公司,安心便利店,便利店,太原市小店区许坦东街5号,,112.590,37.780,",
        "91350200776049653B,某公司,坏代码店,便利店,太原市小店区某路1号,,112.585,37.775,",
        "91350200776049653A,山西安心生活服务有限公司,北京店,便利店,北京市东城区,,116.40,39.90,",
        "91350200776049653A,山西安心生活服务有限公司,算命馆,算命,太原市小店区某路2号,,112.585,37.775,",
        "91350200776049653A,山西安心生活服务有限公司,坏社区店,便利店,太原市小店区某路3号,不存在社区,112.585,37.775,",
    ]
    .join("\n")
}

/// The CSRF token of a page's first form.
pub fn csrf_of(html: &str) -> String {
    html.split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or_else(|| panic!("no CSRF field in {html}"))
        .to_string()
}
