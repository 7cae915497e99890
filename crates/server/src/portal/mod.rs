//! The public site: server-rendered Chinese pages (English switch), SVG maps
//! drawn from the shipped boundaries, no JavaScript needed, every asset embedded.

pub mod map;
pub mod pages;

use crate::app::AppState;
use crate::auth::Principal;
use crate::error::AppError;
use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

const CSS: &str = include_str!("site.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/search", get(pages::search))
        .route("/outlets/{id}", get(pages::outlet))
        .route("/entities/{code}", get(pages::entity))
        .route("/divisions/{code}", get(pages::division))
        .route("/service-types", get(pages::service_types))
        .route(
            "/static/site.css",
            get(|| async {
                (
                    [
                        (header::CONTENT_TYPE, "text/css; charset=utf-8"),
                        (header::CACHE_CONTROL, "public, max-age=3600"),
                    ],
                    CSS,
                )
            }),
        )
}

/// Interface language, from the `lang` cookie or query parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn t(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}

/// The request context every page needs: language and the signed-in user.
pub struct Ctx {
    pub lang: Lang,
    pub user: Option<Principal>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        let query_lang = parts
            .uri
            .query()
            .and_then(|q| q.split('&').find_map(|kv| kv.strip_prefix("lang=")));
        let lang = query_lang.or_else(|| crate::auth::cookie_value(parts, "lang"));
        Ok(if lang == Some("en") {
            Lang::En
        } else {
            Lang::Zh
        })
    }
}

impl axum::extract::FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let lang = Lang::from_request_parts(parts, state)
            .await
            .unwrap_or_default();
        let crate::auth::MaybeUser(user) =
            crate::auth::MaybeUser::from_request_parts(parts, state).await?;
        Ok(Ctx { lang, user })
    }
}

/// The page shell: header with navigation, language switch and sign-in state.
pub fn layout(ctx: &Ctx, title: &str, body: Markup) -> Markup {
    let l = ctx.lang;
    html! {
        (DOCTYPE)
        html lang=(if l == Lang::En { "en" } else { "zh-CN" }) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (l.t("山西省生活服务平台", "Shanxi Life Services")) }
                link rel="stylesheet" href="/static/site.css";
            }
            body {
                a.skip href="#main" { (l.t("跳到主要内容", "Skip to content")) }
                header.site {
                    a.brand href="/" { (l.t("山西省生活服务平台", "Shanxi Life Services")) }
                    nav aria-label=(l.t("主导航", "Main")) {
                        a href="/" { (l.t("首页", "Home")) }
                        a href="/search" { (l.t("找服务", "Find services")) }
                        a href="/divisions/14" { (l.t("各地服务", "By area")) }
                        a href="/service-types" { (l.t("服务分类", "Categories")) }
                        a href="/circles" { (l.t("生活圈", "15-min circles")) }
                        a href="/plan" { (l.t("行动方案", "Action plan")) }
                        a href="/quality" { (l.t("好差评", "Ratings")) }
                        @if let Some(user) = &ctx.user {
                            a href="/admin" { (l.t("管理", "Admin")) " (" (user.display_name) ")" }
                        } @else {
                            a href="/login" { (l.t("工作人员登录", "Staff sign-in")) }
                        }
                        @if l == Lang::En { a href="?lang=zh" lang="zh-CN" { "中文" } } @else { a href="?lang=en" lang="en" { "English" } }
                    }
                }
                main #main { (body) }
                footer.site {
                    p { (l.t("依据《山西省生活性服务业发展行动方案》建设。区划：", "Built for the Shanxi life-service action plan. Divisions: ")) (crate::reference::DIVISIONS_SOURCE) "。" }
                }
            }
        }
    }
}

/// An HTML error page in Chinese for the same errors the API returns as JSON.
pub fn error_page(ctx: &Ctx, err: &AppError) -> Response {
    let body = html! {
        h1 { (ctx.lang.t("出错了", "Something went wrong")) }
        p.error role="alert" { (err.to_string()) }
        p { a href="/" { (ctx.lang.t("返回首页", "Back to home")) } }
    };
    (
        err.status(),
        axum::response::Html(layout(ctx, "错误", body).into_string()),
    )
        .into_response()
}

/// Renders a page result: a page, or an error page with the right status.
pub fn render(ctx: &Ctx, result: Result<(String, Markup), AppError>) -> Response {
    match result {
        Ok((title, body)) => {
            axum::response::Html(layout(ctx, &title, body).into_string()).into_response()
        }
        Err(err) => {
            if let AppError::Internal(cause) = &err {
                tracing::error!(error = ?cause, "page failed");
            }
            error_page(ctx, &err)
        }
    }
}
