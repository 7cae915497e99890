//! Synthetic reviews for the demo and the benchmarks: reproducible (ChaCha8),
//! written in bulk. Each outlet gets a hidden "true quality"; ratings scatter
//! around it, bad ones open cases at various stages (rectified on time, late,
//! followed up, still open, overdue), and some reviews carry the entity's reply.
//! Reviewers are synthetic numbers (170 + 8 digits), stored like real ones
//! (keyed hash, sealed contact). The running totals are seeded once from the
//! generated rows; from then on every write updates them incrementally.

use super::ReviewService;
use super::store::{Delta, Departments, add_totals};
use crate::storage::{Backend, Db, placeholders};
use chrono::{Days, NaiveDate};
use lifeservice_domain::ServiceType;
use lifeservice_domain::review::{aspects_for, phone_key, pseudonym};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sqlx::Row;
use std::collections::HashMap;

/// Reviews `serve --demo` generates over its 20,000 outlets.
pub const DEMO_REVIEWS: usize = 40_000;

const GOOD: &[&str] = &[
    "服务很好，非常满意，下次还来",
    "师傅专业又准时，干活仔细",
    "价格实在，态度热情，值得推荐",
    "环境干净整洁，工作人员很耐心",
    "老人在这里很开心，护理员很细心",
    "东西新鲜，价格公道，就在家门口很方便",
    "预约方便，按时上门，收费透明",
];
const FAIR: &[&str] = &[
    "总体还可以，就是等的时间有点长",
    "服务一般，价格偏高",
    "还行吧，环境可以再改进",
    "基本满意，希望服务更细致一些",
];
const BAD: &[&str] = &[
    "收费和说好的不一样，态度也差",
    "预约了没按时来，打电话也不接",
    "卫生条件差，不会再来了",
    "服务敷衍，问题没解决还多收钱",
    "排队很久，工作人员爱答不理",
];
const REPLIES: &[&str] = &[
    "感谢您的认可，我们会继续努力！",
    "非常抱歉给您带来不便，已安排专人联系您处理。",
    "感谢您的建议，我们会改进。",
];

/// Outlets to review, as the generator needs them.
struct Target {
    id: i64,
    entity_id: i64,
    service_type: String,
    county: String,
    quality: f64,
}

/// Writes `reviews` synthetic reviews over the open synthetic outlets (all
/// open outlets when `synthetic_only` is false). Returns how many were written.
pub async fn generate(
    db: &Db,
    service: &ReviewService,
    reviews: usize,
    seed: u64,
    synthetic_only: bool,
    progress: Option<&indicatif::ProgressBar>,
) -> anyhow::Result<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7265_7669_6577);
    let rows = sqlx::query(
        "SELECT id, entity_id, service_type, county_code FROM outlets WHERE status = 'open' AND ($1 = 0 OR synthetic = 1) ORDER BY id",
    )
    .bind(i64::from(synthetic_only))
    .fetch_all(db.pool())
    .await?;
    if rows.is_empty() || reviews == 0 {
        return Ok(0);
    }
    let mut targets = Vec::with_capacity(rows.len());
    for r in &rows {
        targets.push(Target {
            id: r.try_get("id")?,
            entity_id: r.try_get("entity_id")?,
            service_type: r.try_get("service_type")?,
            county: r.try_get("county_code")?,
            quality: rng.random_range(2.6..4.9),
        });
    }
    let key = service.key(db).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let config = service.config();
    let backend = db.backend();
    let departments = Departments::read(&mut *db.pool().acquire().await?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let first_review: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM reviews")
        .fetch_one(db.pool())
        .await?;
    let first_reviewer: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM reviewers")
        .fetch_one(db.pool())
        .await?;
    let first_case: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM review_cases")
        .fetch_one(db.pool())
        .await?;

    // Reviewers: about five reviews each.
    let reviewer_count = (reviews / 5).max(20);
    let now_text = crate::time::now_text();
    for chunk_start in (0..reviewer_count).step_by(1000) {
        let n = 1000.min(reviewer_count - chunk_start);
        let sql = format!(
            "INSERT INTO reviewers (id, phone_key, pseudonym, contact_sealed, created_at) VALUES {}",
            placeholders(backend, n, 5)
        );
        let mut q = sqlx::query(&sql);
        for i in chunk_start..chunk_start + n {
            let mobile = format!("170{:08}", first_reviewer as usize + i);
            let pk = phone_key(&key, &mobile);
            q = q
                .bind(first_reviewer + 1 + i as i64)
                .bind(pk.clone())
                .bind(pseudonym(&key, &pk))
                .bind(super::seal_contact(&key, &mobile))
                .bind(now_text.clone());
        }
        // In the write turn like every other batch, so that the checkpointer's
        // last pass can start SQLite's log again between batches.
        let mut tx = db.begin_write().await?;
        q.execute(&mut *tx).await?;
        tx.commit().await?;
    }

    let now = crate::time::now();
    let today = crate::time::today();
    let mut totals: HashMap<usize, Delta> = HashMap::new();
    let mut review_id = first_review;
    let mut case_id = first_case;
    let mut written = 0usize;
    const CHUNK: usize = 500;
    while written < reviews {
        let n = CHUNK.min(reviews - written);
        let mut review_rows = Vec::with_capacity(n);
        let mut case_rows = Vec::new();
        for _ in 0..n {
            review_id += 1;
            // Popular outlets get more reviews: square of a uniform skews towards low indexes.
            let u: f64 = rng.random();
            let ti = ((u * u) * targets.len() as f64) as usize % targets.len();
            let t = &targets[ti];
            let noise =
                (rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>() - 1.5) * 1.6;
            let rating = (t.quality + noise).round().clamp(1.0, 5.0) as i64;
            let text = match rating {
                4 | 5 => GOOD[rng.random_range(0..GOOD.len())],
                3 => FAIR[rng.random_range(0..FAIR.len())],
                _ => BAD[rng.random_range(0..BAD.len())],
            };
            let stype = ServiceType::parse(&t.service_type);
            let mut aspects = String::from("{");
            if let Some(st) = stype
                && rng.random_bool(0.5)
            {
                for (i, a) in aspects_for(st.major()).iter().take(3).enumerate() {
                    let v = (rating + rng.random_range(-1..=1)).clamp(1, 5);
                    if i > 0 {
                        aspects.push(',');
                    }
                    aspects.push_str(&format!("\"{}\":{v}", a.code()));
                }
            }
            aspects.push('}');
            let age_s = rng.random_range(0..180 * 86400);
            let at = now - chrono::Duration::seconds(age_s);
            let created = at.format("%Y-%m-%dT%H:%M:%S%:z").to_string();
            let day = at.date_naive();
            let reviewer = first_reviewer + 1 + rng.random_range(0..reviewer_count as i64);
            let verified = rng.random_bool(0.3);
            let reply = rng
                .random_bool(if rating <= 2 { 0.6 } else { 0.2 })
                .then(|| {
                    REPLIES[if rating <= 2 {
                        1
                    } else {
                        rng.random_range(0..REPLIES.len())
                    }]
                });
            review_rows.push((
                review_id,
                t.id,
                reviewer,
                rating,
                aspects,
                text,
                verified,
                created.clone(),
                reply,
                ti,
            ));
            let d = totals.entry(ti).or_default();
            d.n += 1;
            d.rating_sum += rating;
            d.bad += i64::from(rating <= 2);
            if rating <= 2 {
                case_id += 1;
                let (contact_due, rectify_due) = config.deadlines.due(&config.calendar, day);
                let age_days = (today - day).num_days();
                let stage: f64 = rng.random();
                let late = rng.random_bool(0.12);
                let done_day = |due: NaiveDate, rng: &mut ChaCha8Rng| -> NaiveDate {
                    if late {
                        due + Days::new(rng.random_range(1..6))
                    } else {
                        let span = (due - day).num_days().max(1) as u64;
                        day + Days::new(rng.random_range(0..=span))
                    }
                };
                let mut c = CaseRow {
                    id: case_id,
                    review_id,
                    ti,
                    status: "open",
                    opened_on: day,
                    contact_due,
                    rectify_due,
                    contacted_on: None,
                    rectified_on: None,
                    followed_on: None,
                    follow_rating: None,
                    escalated_on: None,
                };
                if age_days > 20 || stage < 0.75 {
                    c.contacted_on = Some(done_day(contact_due, &mut rng).min(today));
                    c.status = "contacted";
                    if age_days > 3 && stage < 0.9 {
                        let r = done_day(rectify_due, &mut rng).min(today);
                        c.rectified_on = Some(r);
                        c.status = "rectified";
                        d.rectified += 1;
                        d.on_time += i64::from(r <= rectify_due);
                        if stage < 0.8 {
                            let f = (r + Days::new(rng.random_range(1..4))).min(today);
                            c.followed_on = Some(f);
                            c.follow_rating = Some(rng.random_range(3..=5));
                            c.status = "closed";
                            d.followed += 1;
                        }
                    }
                }
                if c.rectified_on.is_none() && today > rectify_due {
                    c.escalated_on = Some(rectify_due + Days::new(1));
                }
                d.cases += 1;
                case_rows.push(c);
            }
        }
        let mut tx = db.begin_write().await?;
        let sql = format!(
            "INSERT INTO reviews (id, outlet_id, reviewer_id, occasion, rating, aspects_json, body, verified, channel, status, service_type, county_code, created_at, reply, reply_by, reply_at) VALUES {}",
            placeholders(backend, review_rows.len(), 16)
        );
        let mut q = sqlx::query(&sql);
        for (id, outlet, reviewer, rating, aspects, text, verified, created, reply, ti) in
            &review_rows
        {
            let t = &targets[*ti];
            q = q
                .bind(*id)
                .bind(*outlet)
                .bind(*reviewer)
                .bind(format!("demo:{id}"))
                .bind(*rating)
                .bind(aspects.clone())
                .bind(text.to_string())
                .bind(i64::from(*verified))
                .bind(if *verified { "qr" } else { "web" })
                .bind("published")
                .bind(t.service_type.clone())
                .bind(t.county.clone())
                .bind(created.clone())
                .bind(reply.map(str::to_string))
                .bind(reply.map(|_| format!("entity:{}", t.entity_id)))
                .bind(reply.map(|_| created.clone()));
        }
        q.execute(&mut *tx).await?;
        if !case_rows.is_empty() {
            let sql = format!(
                "INSERT INTO review_cases (id, review_id, outlet_id, entity_id, service_type, county_code, departments, status, opened_on, contact_due, rectify_due, contacted_on, contact_note, rectified_on, rectify_note, followed_on, follow_rating, escalated_on) VALUES {}",
                placeholders(backend, case_rows.len(), 18)
            );
            let mut q = sqlx::query(&sql);
            for c in &case_rows {
                let t = &targets[c.ti];
                q = q
                    .bind(c.id)
                    .bind(c.review_id)
                    .bind(t.id)
                    .bind(t.entity_id)
                    .bind(t.service_type.clone())
                    .bind(t.county.clone())
                    .bind(departments.responsible_for(&t.service_type))
                    .bind(c.status)
                    .bind(c.opened_on.to_string())
                    .bind(c.contact_due.to_string())
                    .bind(c.rectify_due.to_string())
                    .bind(c.contacted_on.map(|d| d.to_string()))
                    .bind(
                        c.contacted_on
                            .map(|_| "已电话联系评价人（演示）".to_string()),
                    )
                    .bind(c.rectified_on.map(|d| d.to_string()))
                    .bind(
                        c.rectified_on
                            .map(|_| "已整改并向评价人说明（演示）".to_string()),
                    )
                    .bind(c.followed_on.map(|d| d.to_string()))
                    .bind(c.follow_rating)
                    .bind(c.escalated_on.map(|d| d.to_string()));
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        written += n;
        if let Some(bar) = progress {
            bar.inc(n as u64);
        }
    }

    // Seed the running totals once from what was generated.
    let mut rows: HashMap<(&str, String), Delta> = HashMap::new();
    for (ti, d) in &totals {
        let t = &targets[*ti];
        for key in [
            ("outlet", t.id.to_string()),
            ("type", t.service_type.clone()),
            ("county", t.county.clone()),
        ] {
            *rows.entry(key).or_default() += *d;
        }
    }
    let mut rows: Vec<(&str, String, Delta)> =
        rows.into_iter().map(|((s, k), d)| (s, k, d)).collect();
    rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    let mut tx = db.begin_write().await?;
    add_totals(&mut tx, &rows).await?;
    crate::audit::record(
        &mut tx,
        "system",
        "generate",
        "review",
        "demo",
        None,
        Some(serde_json::json!({"reviews": written, "reviewers": reviewer_count, "seed": seed, "synthetic": true})),
    )
    .await?;
    tx.commit().await?;
    if backend == Backend::Postgres {
        for table in ["reviews", "reviewers", "review_cases"] {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
            ))
            .execute(db.pool())
            .await?;
        }
    }
    Ok(written)
}

struct CaseRow {
    id: i64,
    review_id: i64,
    ti: usize,
    status: &'static str,
    opened_on: NaiveDate,
    contact_due: NaiveDate,
    rectify_due: NaiveDate,
    contacted_on: Option<NaiveDate>,
    rectified_on: Option<NaiveDate>,
    followed_on: Option<NaiveDate>,
    follow_rating: Option<i64>,
    escalated_on: Option<NaiveDate>,
}
