//! Search parameters from a query string, shared by the API and the portal:
//! every value is parsed into its domain type, and unknown parameters are
//! refused by name rather than silently ignored.

use super::{DocKind, SearchQuery, Sort, extract_division};
use crate::error::{AppError, AppResult};
use crate::reference::Reference;
use lifeservice_domain::{Coordinates, DivisionCode, MajorCategory, ServiceType};
use std::collections::HashMap;

pub const MAX_PER_PAGE: usize = 100;
pub const DEFAULT_RADIUS_M: f64 = 3000.0;
pub const MAX_RADIUS_M: f64 = 50_000.0;

const KNOWN: &[&str] = &[
    "q",
    "division",
    "type",
    "major",
    "near",
    "radius_m",
    "no_penalty",
    "sort",
    "page",
    "per_page",
    "lang",
];

/// A parsed search request with its paging.
#[derive(Debug, Clone)]
pub struct SearchParams {
    pub query: SearchQuery,
    pub page: usize,
    pub per_page: usize,
    /// The division named inside `q` (e.g. 小店区), if one was taken as a filter.
    pub division_from_text: bool,
}

fn value<'a>(params: &'a HashMap<String, String>, key: &str) -> Option<&'a str> {
    params.get(key).map(|s| s.trim()).filter(|s| !s.is_empty())
}

fn number<T: std::str::FromStr>(
    params: &HashMap<String, String>,
    key: &str,
    what: &str,
) -> AppResult<Option<T>> {
    value(params, key)
        .map(|v| {
            v.parse::<T>()
                .map_err(|_| AppError::field(key, format!("{what}“{v}”应为数字")))
        })
        .transpose()
}

impl SearchParams {
    pub fn parse(params: &HashMap<String, String>, kind: DocKind) -> AppResult<SearchParams> {
        if let Some(unknown) = params.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(AppError::field(
                unknown,
                format!("未知的查询参数“{unknown}”，可用参数：{}", KNOWN.join(", ")),
            ));
        }
        let mut text = value(params, "q").unwrap_or_default().to_string();
        if text.chars().count() > 100 {
            return Err(AppError::field("q", "搜索词过长（最多100个字）"));
        }
        let mut division_from_text = false;
        let division = match value(params, "division") {
            Some(d) => {
                let code = DivisionCode::parse(d)
                    .map_err(|e| AppError::field("division", e.to_string()))?;
                if Reference::shipped().get(&code).is_none() {
                    return Err(AppError::field(
                        "division",
                        format!("区划代码“{code}”不存在"),
                    ));
                }
                Some(code)
            }
            None => {
                let (rest, found) = extract_division(&text);
                division_from_text = found.is_some();
                text = rest;
                found
            }
        };
        let service_type = value(params, "type")
            .map(|t| {
                ServiceType::parse(t)
                    .ok_or_else(|| AppError::field("type", format!("未知的服务类型“{t}”")))
            })
            .transpose()?;
        let major = value(params, "major")
            .map(|m| {
                MajorCategory::parse(m).ok_or_else(|| {
                    AppError::field("major", format!("未知的服务大类“{m}”，应为01至12"))
                })
            })
            .transpose()?;
        let radius: f64 = number(params, "radius_m", "半径")?.unwrap_or(DEFAULT_RADIUS_M);
        if !(1.0..=MAX_RADIUS_M).contains(&radius) {
            return Err(AppError::field(
                "radius_m",
                format!("半径应在1至{MAX_RADIUS_M}米之间"),
            ));
        }
        let near = value(params, "near")
            .map(|n| parse_near(n).map(|p| (p, radius)))
            .transpose()?;
        let sort = match value(params, "sort") {
            None | Some("relevance") => {
                if near.is_some() && text.is_empty() {
                    Sort::Distance
                } else {
                    Sort::Relevance
                }
            }
            Some("distance") if near.is_some() => Sort::Distance,
            Some("distance") => {
                return Err(AppError::field("sort", "按距离排序需要提供 near=纬度,经度"));
            }
            Some("quality") => Sort::Quality,
            Some(other) => {
                return Err(AppError::field(
                    "sort",
                    format!("未知的排序方式“{other}”，应为 relevance、distance 或 quality"),
                ));
            }
        };
        let page: usize = number(params, "page", "页码")?.unwrap_or(1);
        let per_page: usize = number(params, "per_page", "每页条数")?.unwrap_or(20);
        if page == 0 || page > 10_000 {
            return Err(AppError::field("page", "页码应在1至10000之间"));
        }
        if per_page == 0 || per_page > MAX_PER_PAGE {
            return Err(AppError::field(
                "per_page",
                format!("每页条数应在1至{MAX_PER_PAGE}之间"),
            ));
        }
        Ok(SearchParams {
            query: SearchQuery {
                kind,
                text,
                division,
                service_type,
                major,
                near,
                no_penalty_on: match value(params, "no_penalty") {
                    None | Some("0" | "false") => None,
                    Some("1" | "true" | "on") => Some(crate::time::today()),
                    Some(other) => {
                        return Err(AppError::field(
                            "no_penalty",
                            format!("“{other}”无效：no_penalty 应为 1 或 0"),
                        ));
                    }
                },
                sort,
                offset: (page - 1) * per_page,
                limit: per_page,
            },
            page,
            per_page,
            division_from_text,
        })
    }
}

/// `LAT,LON` as the API writes it.
fn parse_near(s: &str) -> AppResult<Coordinates> {
    let (lat, lon) = s
        .split_once(',')
        .ok_or_else(|| AppError::field("near", "near 应为“纬度,经度”，如 37.87,112.55"))?;
    Coordinates::parse(lon, lat, Default::default())
        .map_err(|e| AppError::field("near", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn parses_and_extracts_division() {
        let p = SearchParams::parse(
            &params(&[("q", "家政 小店区"), ("page", "2")]),
            DocKind::Outlet,
        )
        .unwrap();
        assert_eq!(p.query.text, "家政");
        assert_eq!(p.query.division.unwrap().as_str(), "140105");
        assert_eq!(p.query.offset, 20);
    }

    #[test]
    fn refuses_bad_parameters_by_name() {
        let cases = [
            (vec![("colour", "red")], "colour"),
            (vec![("type", "算命")], "type"),
            (vec![("near", "abc")], "near"),
            (vec![("near", "37.8,112.5"), ("radius_m", "x")], "radius_m"),
            (vec![("per_page", "1000")], "per_page"),
            (vec![("division", "999999")], "division"),
            (vec![("sort", "distance")], "sort"),
        ];
        for (pairs, field) in cases {
            let err = SearchParams::parse(&params(&pairs), DocKind::Outlet).unwrap_err();
            assert_eq!(err.field_name(), Some(field), "{pairs:?}");
        }
    }
}
