//! The catalogue on the portal: `/open-data` lists every dataset with its
//! entry (fields, source, frequency, licence, last update) and downloads;
//! `/open-data/{id}` is one dataset's page; `/open-data/{id}.{format}` the
//! download.

use super::catalogue::{DATASETS, Dataset, MASKING_NOTE};
use super::export::{self, Format};
use super::{Summary, api};
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::portal::{Ctx, Lang, error_page, render};
use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/open-data", get(catalogue_page))
        .route("/open-data/{name}", get(dataset_or_download))
}

fn name(l: Lang, d: &Dataset) -> &'static str {
    match l {
        Lang::Zh => d.name,
        Lang::En => d.name_en,
    }
}

/// Text that exists only in Chinese, marked as such on the English pages so
/// that screen readers read it in the right language.
fn zh(l: Lang, text: &str) -> Markup {
    html! {
        @if l == Lang::En { span lang="zh-CN" { (text) } } @else { (text) }
    }
}

fn last_updated(l: Lang, s: &Summary) -> String {
    match s.last_updated {
        Some(t) => format!(
            "{}{}",
            t.format("%Y-%m-%d %H:%M"),
            l.t("（北京时间）", " (Beijing time)")
        ),
        None => l.t("暂无数据", "no data yet").to_string(),
    }
}

async fn catalogue_page(State(state): State<AppState>, ctx: Ctx) -> Response {
    let l = ctx.lang;
    let result = async {
        let mut entries = Vec::with_capacity(DATASETS.len());
        for d in &DATASETS {
            entries.push((d, super::summary(&state, d).await?));
        }
        let body = html! {
            h1 { (l.t("开放数据", "Open data")) }
            p { (l.t("依据《山西省生活性服务业发展行动方案》推进公共数据共享开放：本平台的生活服务网点、信用记录、统计数据、一刻钟便民生活圈和行动方案指标按下列数据资源目录开放，可下载 CSV、XLSX、JSON（有地理位置的另有 GeoJSON），也可通过接口分页批量获取。",
                "Following the Shanxi life-service action plan, the platform's public data are open as the datasets below: download CSV, XLSX, JSON (GeoJSON where records have a location) or page through the API.")) }
            (privacy_note(l))
            (licence_note(l))
            table {
                caption { (l.t("数据资源目录", "Data resource catalogue")) }
                thead { tr {
                    th scope="col" { (l.t("数据集", "Dataset")) }
                    th scope="col" { (l.t("记录数", "Records")) }
                    th scope="col" { (l.t("更新频率", "Update frequency")) }
                    th scope="col" { (l.t("最后更新", "Last update")) }
                } }
                tbody { @for (d, s) in &entries { tr {
                    th scope="row" { a href=(format!("#{}", d.id)) { (name(l, d)) } }
                    td { (s.records) }
                    td { (zh(l, d.update_frequency)) }
                    td { (last_updated(l, s)) }
                } } }
            }
            @for (d, s) in &entries {
                section aria-labelledby=(d.id) {
                    h2 id=(d.id) { (name(l, d)) }
                    p { (zh(l, d.description)) }
                    (facts(l, d, s))
                    (downloads(l, d))
                    details {
                        summary { (l.t("字段说明", "Fields")) "（" (d.fields.len()) "）" }
                        (fields_table(l, d))
                    }
                    p { a href=(format!("/open-data/{}", d.id)) { (l.t("数据集详情和接口说明：", "Dataset page and API: ")) (name(l, d)) } }
                }
            }
        };
        Ok((l.t("开放数据", "Open data").to_string(), body))
    }
    .await;
    render(&ctx, result)
}

/// `/open-data/outlets` is the dataset's page, `/open-data/outlets.csv` its download.
async fn dataset_or_download(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> Response {
    let Some((id, extension)) = name.rsplit_once('.') else {
        let result = dataset_page(&state, &ctx, &name).await;
        return render(&ctx, result);
    };
    let download = async {
        let dataset = api::find(id)?;
        let format = Format::parse(extension).ok_or_else(|| {
            AppError::not_found(format!(
                "不提供“{extension}”格式：可下载 csv、xlsx、json 或 geojson"
            ))
        })?;
        export::download(&state, dataset, format).await
    };
    match download.await {
        Ok(response) => response,
        Err(err) => error_page(&ctx, &err),
    }
}

async fn dataset_page(state: &AppState, ctx: &Ctx, id: &str) -> AppResult<(String, Markup)> {
    let l = ctx.lang;
    let d = api::find(id)?;
    let s = super::summary(state, d).await?;
    let api_url = format!("/api/v1/open-data/{}", d.id);
    let body = html! {
        p { a href="/open-data" { (l.t("开放数据", "Open data")) } " › " (name(l, d)) }
        h1 { (name(l, d)) }
        p { (zh(l, d.description)) }
        (facts(l, d, &s))
        h2 { (l.t("下载", "Downloads")) }
        (downloads(l, d))
        ul { @for f in d.formats() { li { strong { (f.label()) } (l.t("：", ": ")) (zh(l, f.description())) } } }
        h2 { (l.t("字段说明", "Fields")) }
        (fields_table(l, d))
        h2 { (l.t("接口（批量获取）", "API (bulk access)")) }
        p { (l.t("按记录的稳定排序分页：", "Pages in a stable order: ")) code { "GET " (api_url) "?limit=1000" }
            (l.t("。响应中的 next_cursor 原样作为下一页的 cursor 参数传入，为 null 时已到最后一页。limit 为1至1000，默认100。", ". Pass next_cursor back as cursor for the next page; it is null on the last page. limit is 1 to 1000 (default 100).")) }
        p { (l.t("目录的机器可读形式：", "The catalogue as JSON: ")) a href="/api/v1/open-data" { "/api/v1/open-data" } "。" }
        (privacy_note(l))
    };
    Ok((name(l, d).to_string(), body))
}

/// The entry's facts: source, frequency, licence, last update, count.
fn facts(l: Lang, d: &Dataset, s: &Summary) -> Markup {
    html! {
        dl.facts {
            dt { (l.t("英文名称", "Chinese name")) } dd { (match l { Lang::Zh => d.name_en, Lang::En => d.name }) }
            dt { (l.t("数据来源单位", "Source departments")) } dd { (zh(l, &s.sources.join("、"))) }
            dt { (l.t("来源说明", "Provenance")) } dd { (zh(l, d.source_basis)) }
            dt { (l.t("更新频率", "Update frequency")) } dd { (zh(l, d.update_frequency)) }
            dt { (l.t("开放许可", "Licence")) } dd { a href=(d.licence.url) { (zh(l, d.licence.name)) } "。" (zh(l, d.licence.summary)) }
            @if let Some(terms) = d.terms { dt { (l.t("使用条件", "Conditions")) } dd { (zh(l, terms)) } }
            dt { (l.t("个人信息保护", "Personal data")) } dd { (zh(l, d.privacy)) }
            dt { (l.t("最后更新", "Last update")) } dd { (last_updated(l, s)) }
            dt { (l.t("记录数", "Records")) } dd { (s.records) }
        }
    }
}

fn downloads(l: Lang, d: &Dataset) -> Markup {
    html! {
        p.downloads {
            (l.t("下载：", "Download: "))
            @for f in d.formats() {
                a href=(format!("/open-data/{}.{}", d.id, f.extension()))
                    // The visible label first, set apart by a space: axe
                    // requires it inside the name, and full-width brackets
                    // do not separate words for it.
                    aria-label=(match l {
                        Lang::Zh => format!("{} 格式下载：{}", f.label(), d.name),
                        Lang::En => format!("{} download: {}", f.label(), d.name_en),
                    }) { (f.label()) }
                " "
            }
        }
    }
}

fn fields_table(l: Lang, d: &Dataset) -> Markup {
    html! {
        table {
            caption { (name(l, d)) (l.t("的字段", ": fields")) }
            thead { tr {
                th scope="col" { (l.t("中文名（CSV/XLSX 列名）", "Name (CSV/XLSX header)")) }
                th scope="col" { (l.t("字段（JSON 键）", "Key (JSON)")) }
                th scope="col" { (l.t("类型", "Type")) }
                th scope="col" { (l.t("说明", "Description")) }
            } }
            tbody { @for f in d.fields { tr {
                th scope="row" { (zh(l, f.name)) }
                td { code { (f.key) } }
                td { (zh(l, f.ty.zh())) }
                td { (zh(l, f.description)) }
            } } }
        }
    }
}

fn privacy_note(l: Lang) -> Markup {
    html! {
        p.summary role="note" {
            strong { (l.t("个人信息保护：", "Personal information: ")) }
            (l.t("开放数据只来自各页面已公开的内容：自然人的证件号码从不开放，个体工商户经营者姓名只保留姓，好差评的评价人不出现在任何数据集中。", "Open data carry only what public pages show: no ID numbers of natural persons, owners' names reduced to the surname, and no reviewer in any dataset. "))
            (zh(l, MASKING_NOTE))
        }
    }
}

fn licence_note(l: Lang) -> Markup {
    let licence = &super::catalogue::CC_BY_4;
    html! {
        p {
            (l.t("开放许可：", "Licence: ")) a href=(licence.url) { (zh(l, licence.name)) } "。" (zh(l, licence.summary))
            (l.t("采用署名许可（而非放弃全部权利的 CC0），是为了让再利用的数据始终注明数据来源单位，符合信用信息“谁产生、谁提供、谁负责”的要求。", " Attribution (rather than CC0) keeps the source department with every re-use."))
        }
    }
}
