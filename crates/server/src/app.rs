//! Application state and the router: each capability contributes its routes.

use crate::auth::RateLimiter;
use crate::circle::CircleService;
use crate::search::SearchIndex;
use crate::storage::Db;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// Largest accepted request body (an Excel upload).
pub const MAX_UPLOAD_BYTES: usize = 32 * 1024 * 1024;

/// Open outlets per county code.
pub type CountyCounts = Arc<HashMap<String, i64>>;

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub search: Arc<SearchIndex>,
    /// Wakes the index follower right after a write made by this process.
    pub index_wakeup: Arc<Notify>,
    pub login_limiter: Arc<RateLimiter>,
    pub circles: CircleService,
    pub reviews: crate::reviews::ReviewService,
    /// What the provider and outlet pages read, kept between requests.
    pub pages: Arc<crate::page_cache::PageCache>,
    /// Open-data summaries and computed tables.
    pub open_data: Arc<crate::opendata::OpenDataCache>,
    county_counts: Arc<tokio::sync::Mutex<Option<(Instant, CountyCounts)>>>,
    pub assessment_inputs: Arc<crate::plan::assessment::InputsCache>,
}

impl AppState {
    pub fn new(db: Db, search: Arc<SearchIndex>, circles: CircleService) -> Self {
        AppState {
            db,
            search,
            circles,
            reviews: Default::default(),
            pages: Arc::default(),
            open_data: Arc::default(),
            index_wakeup: Arc::new(Notify::new()),
            login_limiter: Arc::new(RateLimiter::new("login", 10, Duration::from_secs(60))),
            county_counts: Arc::default(),
            assessment_inputs: Arc::default(),
        }
    }

    /// Open outlets per county, recomputed at most every 30 seconds.
    pub async fn county_counts(&self) -> crate::error::AppResult<CountyCounts> {
        let mut cache = self.county_counts.lock().await;
        if let Some((_, counts)) = cache
            .as_ref()
            .filter(|(at, _)| at.elapsed() < Duration::from_secs(30))
        {
            return Ok(counts.clone());
        }
        let counts = Arc::new(crate::portal::pages::county_counts(&self.db).await?);
        *cache = Some((Instant::now(), counts.clone()));
        Ok(counts)
    }

    /// Applies pending changes to the derived state (search index, life
    /// circles) now, so that a writer sees its own write.
    pub async fn refresh_index(&self) {
        if let Err(e) = self.search.catch_up(&self.db).await {
            tracing::warn!(error = %e, "index catch-up failed");
        }
        if let Err(e) = self.pages.follow(&self.db).await {
            tracing::warn!(error = %e, "page cache update failed");
        }
        if let Err(e) = self.circles.follow(&self.db).await {
            tracing::warn!(error = %e, "life circle update failed");
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .merge(crate::portal::routes())
        .merge(crate::registry::api::routes())
        .merge(crate::auth::pages::routes())
        .merge(crate::plan::routes())
        .merge(crate::circle::pages::routes())
        .merge(crate::credit::api::routes())
        .merge(crate::credit::pages::routes())
        .merge(
            crate::reviews::routes().route_layer(axum::middleware::from_fn_with_state(
                state.clone(),
                follow_review_writes,
            )),
        )
        .merge(crate::stats::routes())
        .merge(crate::opendata::routes())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            explain_framework_errors,
        ))
        .layer(axum::middleware::from_fn(remember_language))
        .layer(axum::middleware::from_fn(
            crate::auth::refuse_cross_site_writes,
        ))
        .layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES))
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

/// A review write changes outlet pages, not search documents: the writing
/// process follows the review feed before it answers, so that the page it
/// sends the writer to already shows the write.
async fn follow_review_writes(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let write = !request.method().is_safe();
    let response = next.run(request).await;
    if write && let Err(e) = state.pages.follow(&state.db).await {
        tracing::warn!(error = %e, "page cache update failed");
    }
    response
}

/// The framework answers some requests before any handler runs: a path no
/// route takes (404, empty), a method the route does not take (405), a path,
/// query or form parameter that does not parse (400 or 422, English plain
/// text). They get the platform's answer like every other error, with their
/// status: the JSON error body under `/api/`, the Chinese error page elsewhere.
async fn explain_framework_errors(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let (method, uri) = (request.method().clone(), request.uri().clone());
    // Only what the error page's context reads (language, mode, who is signed
    // in) is kept: this runs on every request.
    let mut headers = axum::http::HeaderMap::new();
    for name in [
        axum::http::header::COOKIE,
        axum::http::header::AUTHORIZATION,
    ] {
        for value in request.headers().get_all(&name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let response = next.run(request).await;
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_none_or(|t| t.as_bytes().starts_with(b"text/plain"));
    if !status.is_client_error() || !plain {
        return response;
    }
    let detail = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let err = crate::error::framework_error(
        status,
        method.as_str(),
        uri.path(),
        &String::from_utf8_lossy(&detail),
    );
    let mut answer = if uri.path().starts_with("/api/") {
        err.into_response()
    } else {
        let mut request = axum::http::Request::new(());
        *request.uri_mut() = uri;
        *request.headers_mut() = headers;
        let (mut parts, ()) = request.into_parts();
        match <crate::portal::Ctx as axum::extract::FromRequestParts<AppState>>::from_request_parts(
            &mut parts, &state,
        )
        .await
        {
            Ok(ctx) => crate::portal::error_page(&ctx, &err),
            Err(_) => err.into_response(),
        }
    };
    *answer.status_mut() = status;
    answer
}

/// `?lang=en` (or `zh`) switches the interface language and remembers it in a cookie.
async fn remember_language(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let lang = request
        .uri()
        .query()
        .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")))
        .filter(|l| matches!(*l, "en" | "zh"))
        .map(str::to_string);
    let mut response = next.run(request).await;
    if let Some(lang) = lang {
        let cookie = format!("lang={lang}; Path=/; Max-Age=31536000; SameSite=Lax");
        crate::auth::set_cookie(&mut response, &cookie);
    }
    response
}

/// Where the search index lives for a database URL: beside a SQLite file,
/// or under `./lifeservice-data/index` for PostgreSQL unless given.
pub fn default_index_dir(db_url: &str) -> PathBuf {
    match db_url.strip_prefix("sqlite:") {
        Some(path) => PathBuf::from(path.trim_start_matches("//")).with_extension("index"),
        None => PathBuf::from("lifeservice-data/index"),
    }
}

/// Follows the change feed. It wakes at once on this process's own writes
/// and, on PostgreSQL, on other processes' writes (LISTEN/NOTIFY), polling
/// only as a fallback; on SQLite other processes' writes are polled for
/// every half second.
pub fn spawn_index_follower(state: AppState) {
    let poll = match state.db.backend() {
        crate::storage::Backend::Sqlite => Duration::from_millis(500),
        crate::storage::Backend::Postgres => Duration::from_secs(10),
    };
    let listener = state.clone();
    tokio::spawn(async move {
        let wakeup = listener.index_wakeup.clone();
        listener.db.listen_for_changes(|| wakeup.notify_one()).await;
    });
    tokio::spawn(async move {
        loop {
            state.refresh_index().await;
            tokio::select! {
                _ = state.index_wakeup.notified() => {}
                _ = tokio::time::sleep(poll) => {}
            }
        }
    });
}

/// Serves until Ctrl-C.
pub async fn serve(state: AppState, listen: &str) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    spawn_index_follower(state.clone());
    crate::jobs::spawn_scheduler(state.clone());
    crate::stats::cube::spawn_refresher(state.db.clone());
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
