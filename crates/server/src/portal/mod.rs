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

/// Read-aloud (朗读): progressive enhancement. The button ships hidden and is
/// shown only where the browser has speech synthesis; it reads the selection,
/// or else the main content, in the page's language.
const READ_ALOUD_JS: &str = r#"(function(){var b=document.getElementById("read-aloud"),s=window.speechSynthesis;if(!b||!s||!window.SpeechSynthesisUtterance)return;b.hidden=false;var idle=b.textContent,stop=b.getAttribute("data-stop");b.addEventListener("click",function(){if(s.speaking||s.pending){s.cancel();b.textContent=idle;b.setAttribute("aria-pressed","false");return;}var t=String(window.getSelection()||"").trim()||document.getElementById("main").innerText;var u=new SpeechSynthesisUtterance(t);u.lang=document.documentElement.lang;u.rate=0.9;u.onend=u.onerror=function(){b.textContent=idle;b.setAttribute("aria-pressed","false");};b.textContent=stop;b.setAttribute("aria-pressed","true");s.speak(u);});})();"#;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/search", get(pages::search))
        .route("/outlets/{id}", get(pages::outlet))
        .route("/entities/{code}", get(pages::entity))
        .route("/divisions/{code}", get(pages::division))
        .route("/service-types", get(pages::service_types))
        .route("/mode", get(switch_mode))
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

/// The request context every page needs: language, display mode, the
/// signed-in user and where the page is (for the mode switch to come back to).
pub struct Ctx {
    pub lang: Lang,
    /// 长辈模式 (elderly mode): large print, large tap targets, simplified layout.
    pub elder: bool,
    pub user: Option<Principal>,
    /// Path and query of the request.
    pub here: String,
}

/// The cookie that remembers 长辈模式.
pub const ELDER_COOKIE: &str = "elder";

/// `GET /mode?elder=1&back=/search?q=...`: switches 长辈模式 on (1) or off (0),
/// remembers it in a cookie for a year and goes back to the page. A plain
/// link, so it works without JavaScript.
async fn switch_mode(
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let on = q.get("elder").map(String::as_str) == Some("1");
    // Non-ASCII bytes are percent-encoded for the Location header.
    let back: String = q
        .get("back")
        .map(String::as_str)
        .filter(|b| is_local_path(b))
        .unwrap_or("/")
        .bytes()
        .map(|b| {
            if b.is_ascii_graphic() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let cookie = format!(
        "{ELDER_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        if on { "1" } else { "0" }
    );
    (
        [(header::SET_COOKIE, cookie)],
        axum::response::Redirect::to(&back),
    )
        .into_response()
}

/// A path on this site (not `//host` or `/\host`), safe to redirect to.
fn is_local_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && !path.chars().any(char::is_control)
}

/// The link that switches 长辈模式 and comes back to `here`.
pub fn mode_link(elder_on: bool, here: &str) -> String {
    let back: String = url_component(here);
    format!("/mode?elder={}&back={back}", if elder_on { 1 } else { 0 })
}

/// Percent-encodes everything but unreserved characters.
pub fn url_component(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
        let elder = crate::auth::cookie_value(parts, ELDER_COOKIE) == Some("1");
        let here = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        Ok(Ctx {
            lang,
            elder,
            user,
            here,
        })
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
            body class=[ctx.elder.then_some("elder")] {
                a.skip href="#main" { (l.t("跳到主要内容", "Skip to content")) }
                header.site {
                    a.brand href="/" { (l.t("山西省生活服务平台", "Shanxi Life Services")) }
                    div.modes {
                        @if ctx.elder {
                            a.mode-switch href=(mode_link(false, &ctx.here)) { (l.t("退出长辈模式", "Standard mode")) }
                        } @else {
                            a.mode-switch href=(mode_link(true, &ctx.here)) { (l.t("长辈模式", "Large print")) }
                        }
                        button #read-aloud type="button" hidden aria-pressed="false" data-stop=(l.t("停止朗读", "Stop reading")) { (l.t("朗读", "Read aloud")) }
                    }
                    nav aria-label=(l.t("主导航", "Main")) {
                        a href="/" { (l.t("首页", "Home")) }
                        a href="/search" { (l.t("找服务", "Find services")) }
                        a href="/divisions/14" { (l.t("各地服务", "By area")) }
                        a href="/service-types" { (l.t("服务分类", "Categories")) }
                        a href="/circles" { (l.t("生活圈", "15-min circles")) }
                        a href="/plan" { (l.t("行动方案", "Action plan")) }
                        a href="/stats" { (l.t("统计监测", "Statistics")) }
                        a href="/releases" { (l.t("定期发布", "Releases")) }
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
                    p { a href="/open-data" { (l.t("开放数据", "Open data")) } }
                }
                script { (maud::PreEscaped(READ_ALOUD_JS)) }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_switch_goes_back_only_to_this_site() {
        assert!(is_local_path("/search?q=家政&type=0101"));
        for bad in [
            "//evil.example/",
            "/\\evil.example",
            "https://evil.example/",
            "",
            "/a\r\nSet-Cookie: x=1",
        ] {
            assert!(!is_local_path(bad), "{bad:?}");
        }
        assert_eq!(
            mode_link(true, "/search?q=a&b=c"),
            "/mode?elder=1&back=%2Fsearch%3Fq%3Da%26b%3Dc"
        );
        assert_eq!(mode_link(false, "/"), "/mode?elder=0&back=%2F");
    }

    #[tokio::test]
    async fn mode_switch_sets_the_cookie_and_redirects() {
        let q = |pairs: &[(&str, &str)]| {
            axum::extract::Query(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            )
        };
        let on = switch_mode(q(&[("elder", "1"), ("back", "/outlets/3")])).await;
        assert_eq!(on.headers()[header::LOCATION], "/outlets/3");
        assert!(
            on.headers()[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .starts_with("elder=1;")
        );
        let off = switch_mode(q(&[("elder", "0"), ("back", "//evil.example")])).await;
        assert_eq!(off.headers()[header::LOCATION], "/");
        assert!(
            off.headers()[header::SET_COOKIE]
                .to_str()
                .unwrap()
                .starts_with("elder=0;")
        );
    }
}
