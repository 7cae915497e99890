//! Service quality reviews (好差评): reviewers signing in with a phone and a
//! one-time code, ratings per outlet (web form, QR code, API), entity replies,
//! bad-review rectification cases with working-day deadlines, appeals,
//! moderation holds, and the quality index kept as running sums.
//!
//! - [`store`]: the SQL (reviews, cases, appeals, running totals, scopes)
//! - [`service`]: who may act or decide, and the workflow's writes (replies,
//!   appeals, decisions, moderation, case steps, 回访), shared by API and pages
//! - [`api`]: the JSON API under `/api/v1`
//! - [`pages`]: the rating form, QR codes, the outlet block and the 好差评 dashboard
//! - [`desk`]: the signed-in desk: an entity's reviews, reply, appeal and case
//!   steps (officers in scope see the same review page without the forms)
//! - [`oversight`]: officers' case lists by state, and departments' appeal
//!   decisions and moderation of held reviews
//! - [`mine`]: 我的评价, where a reviewer follows their cases and rates the
//!   rectification (回访)
//! - [`writer`]: the process's review writer, which moderates and stores the
//!   submissions waiting, many in one transaction (group commit)
//!
//! The rules themselves (levels, aspects, calendar, Bayesian score, duplicate
//! and burst rules, pseudonyms) are in `lifeservice_domain::review`.
//!
//! **Entity accounts.** An entity signs in on the web with an account of role
//! `entity` (scope: its credit code) and uses the desk. For partner systems an
//! officer (admin, or a department/division officer whose scope covers one of
//! the entity's outlets) issues an entity token
//! (`POST /api/v1/entities/{code}/review-tokens`); the entity sends it as
//! `Authorization: Bearer ent_…` to reply, appeal, record rectification steps
//! and issue service receipts for its own outlets. Officers in scope may do the
//! same through the API on an entity's behalf; every such write is audited
//! under their name.

pub mod api;
pub mod demo;
pub mod desk;
pub mod mine;
pub mod oversight;
pub mod pages;
pub mod service;
pub mod store;
pub mod writer;

use crate::app::AppState;
use crate::auth::RateLimiter;
use crate::error::{AppError, AppResult};
use crate::storage::Db;
use axum::Router;
use hmac::{Hmac, Mac};
use lifeservice_domain::review::{BurstRule, Deadlines, WorkCalendar};
use sha2::{Digest, Sha256};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::sync::OnceCell;

pub fn routes() -> Router<AppState> {
    api::routes()
        .merge(pages::routes())
        .merge(desk::routes())
        .merge(oversight::routes())
        .merge(mine::routes())
}

/// Delivers one-time sign-in codes. The built-in [`LogSender`] writes them to
/// the server log; an SMS gateway implements this trait.
pub trait CodeSender: Send + Sync {
    fn send(&self, mobile: &str, code: &str) -> anyhow::Result<()>;
}

/// Writes codes to the log (development and pilots without an SMS gateway).
pub struct LogSender;

impl CodeSender for LogSender {
    fn send(&self, mobile: &str, code: &str) -> anyhow::Result<()> {
        tracing::info!(
            mobile = %lifeservice_domain::privacy::mask_phone(mobile),
            code,
            "reviewer sign-in code (no SMS gateway configured)"
        );
        Ok(())
    }
}

/// Keeps sent codes in memory, for tests and demos.
#[derive(Default)]
pub struct MemorySender {
    pub sent: Mutex<Vec<(String, String)>>,
}

impl MemorySender {
    /// The last code sent to `mobile`.
    pub fn last_code(&self, mobile: &str) -> Option<String> {
        self.sent
            .lock()
            .expect("outbox lock")
            .iter()
            .rev()
            .find(|(m, _)| m == mobile)
            .map(|(_, c)| c.clone())
    }
}

impl CodeSender for MemorySender {
    fn send(&self, mobile: &str, code: &str) -> anyhow::Result<()> {
        self.sent
            .lock()
            .expect("outbox lock")
            .push((mobile.to_string(), code.to_string()));
        Ok(())
    }
}

/// Tunable rules of the review system.
#[derive(Debug, Clone)]
pub struct ReviewConfig {
    pub deadlines: Deadlines,
    pub calendar: WorkCalendar,
    /// Weight C of the service type's mean in the Bayesian score, in ratings.
    pub prior_weight: f64,
    pub burst: BurstRule,
    /// How many of an outlet's latest reviews a new text is compared with.
    pub duplicate_window: i64,
    /// Reviews per reviewer, per IP and per outlet in `rate_window`.
    pub per_account: u32,
    pub per_ip: u32,
    pub per_outlet: u32,
    pub rate_window: Duration,
    /// Codes sent per phone and per IP in ten minutes.
    pub codes_per_phone: u32,
    pub codes_per_ip: u32,
}

impl Default for ReviewConfig {
    fn default() -> Self {
        ReviewConfig {
            deadlines: Deadlines::default(),
            calendar: WorkCalendar::shipped(),
            prior_weight: 5.0,
            burst: BurstRule::default(),
            duplicate_window: 50,
            per_account: 10,
            per_ip: 30,
            per_outlet: 120,
            rate_window: Duration::from_secs(3600),
            codes_per_phone: 5,
            codes_per_ip: 20,
        }
    }
}

struct Limiters {
    account: RateLimiter,
    ip: RateLimiter,
    outlet: RateLimiter,
    code_phone: RateLimiter,
    code_ip: RateLimiter,
}

impl Limiters {
    fn new(c: &ReviewConfig) -> Self {
        let ten_minutes = Duration::from_secs(600);
        Limiters {
            account: RateLimiter::new("review_account", c.per_account, c.rate_window),
            ip: RateLimiter::new("review_ip", c.per_ip, c.rate_window),
            outlet: RateLimiter::new("review_outlet", c.per_outlet, c.rate_window),
            code_phone: RateLimiter::new("code_phone", c.codes_per_phone, ten_minutes),
            code_ip: RateLimiter::new("code_ip", c.codes_per_ip, ten_minutes),
        }
    }
}

/// The review capability's state, shared by handlers.
#[derive(Clone)]
pub struct ReviewService {
    config: Arc<RwLock<Arc<ReviewConfig>>>,
    limiters: Arc<RwLock<Arc<Limiters>>>,
    sender: Arc<RwLock<Arc<dyn CodeSender>>>,
    key: Arc<OnceCell<Vec<u8>>>,
    writer: writer::Queue,
}

impl Default for ReviewService {
    fn default() -> Self {
        let config = ReviewConfig::default();
        ReviewService {
            limiters: Arc::new(RwLock::new(Arc::new(Limiters::new(&config)))),
            config: Arc::new(RwLock::new(Arc::new(config))),
            sender: Arc::new(RwLock::new(Arc::new(LogSender))),
            key: Arc::default(),
            writer: writer::Queue::default(),
        }
    }
}

impl ReviewService {
    pub fn config(&self) -> Arc<ReviewConfig> {
        self.config.read().expect("config lock").clone()
    }

    /// Replaces the rules (and resets the rate limiters to the new limits).
    pub fn set_config(&self, config: ReviewConfig) {
        *self.limiters.write().expect("limiter lock") = Arc::new(Limiters::new(&config));
        *self.config.write().expect("config lock") = Arc::new(config);
    }

    /// Plugs in a code sender (an SMS gateway, or [`MemorySender`] in tests).
    pub fn set_sender(&self, sender: Arc<dyn CodeSender>) {
        *self.sender.write().expect("sender lock") = sender;
    }

    fn sender(&self) -> Arc<dyn CodeSender> {
        self.sender.read().expect("sender lock").clone()
    }

    /// Stores a validated submission through the process's review writer
    /// (group commit, see [`writer`]).
    pub async fn write(&self, db: &Db, draft: writer::Draft) -> AppResult<store::ReviewView> {
        self.writer.submit(db, &self.config, draft).await
    }

    fn limiters(&self) -> Arc<Limiters> {
        self.limiters.read().expect("limiter lock").clone()
    }

    /// The secret of phone hashes, pseudonyms and sealed contacts:
    /// `LIFESERVICE_REVIEW_KEY` when set (production: keep it out of the
    /// database), else a random key created once and kept in `review_settings`.
    pub async fn key(&self, db: &Db) -> AppResult<Vec<u8>> {
        let key = self
            .key
            .get_or_try_init(|| async {
                if let Ok(k) = std::env::var("LIFESERVICE_REVIEW_KEY")
                    && k.len() >= 16
                {
                    return Ok::<_, AppError>(k.into_bytes());
                }
                sqlx::query(
                    "INSERT INTO review_settings (name, value) VALUES ('key', $1) ON CONFLICT (name) DO NOTHING",
                )
                .bind(crate::auth::new_token())
                .execute(db.pool())
                .await?;
                let k: String =
                    sqlx::query_scalar("SELECT value FROM review_settings WHERE name = 'key'")
                        .fetch_one(db.pool())
                        .await?;
                Ok(k.into_bytes())
            })
            .await?;
        Ok(key.clone())
    }
}

pub(crate) fn sha256_hex(s: &str) -> String {
    format!("{:x}", Sha256::digest(s.as_bytes()))
}

fn keystream(key: &[u8], nonce: &[u8], len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
        mac.update(b"lifeservice/contact-seal");
        mac.update(nonce);
        mac.update(&counter.to_be_bytes());
        out.extend_from_slice(&mac.finalize().into_bytes());
        counter += 1;
    }
    out.truncate(len);
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Encrypts a contact number (HMAC-SHA256 in counter mode, random nonce) with
/// a tag, as `nonce:ciphertext:tag` hex.
pub fn seal_contact(key: &[u8], plain: &str) -> String {
    let nonce: [u8; 12] = rand::random();
    let ks = keystream(key, &nonce, plain.len());
    let cipher: Vec<u8> = plain.bytes().zip(ks).map(|(a, b)| a ^ b).collect();
    let tag = contact_tag(key, &nonce, &cipher);
    format!("{}:{}:{}", hex(&nonce), hex(&cipher), tag)
}

fn contact_tag(key: &[u8], nonce: &[u8], cipher: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(b"lifeservice/contact-tag");
    mac.update(nonce);
    mac.update(cipher);
    hex(&mac.finalize().into_bytes()[..16])
}

/// Decrypts [`seal_contact`]'s output; `None` if it was altered or the key differs.
pub fn open_contact(key: &[u8], sealed: &str) -> Option<String> {
    let mut parts = sealed.split(':');
    let (nonce, cipher, tag) = (unhex(parts.next()?)?, unhex(parts.next()?)?, parts.next()?);
    if contact_tag(key, &nonce, &cipher) != tag {
        return None;
    }
    let ks = keystream(key, &nonce, cipher.len());
    String::from_utf8(cipher.iter().zip(ks).map(|(a, b)| a ^ b).collect()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_contacts_open_only_with_the_key() {
        let sealed = seal_contact(b"key-1", "13812345678");
        assert!(!sealed.contains("13812345678"));
        assert_eq!(
            open_contact(b"key-1", &sealed).as_deref(),
            Some("13812345678")
        );
        assert_eq!(open_contact(b"key-2", &sealed), None);
        assert_ne!(sealed, seal_contact(b"key-1", "13812345678"), "fresh nonce");
        let mut tampered = sealed.clone();
        tampered.replace_range(30..31, if &sealed[30..31] == "0" { "1" } else { "0" });
        assert_eq!(open_contact(b"key-1", &tampered), None);
    }

    #[test]
    fn memory_sender_keeps_the_last_code() {
        let s = MemorySender::default();
        s.send("13800000000", "111111").unwrap();
        s.send("13800000000", "222222").unwrap();
        assert_eq!(s.last_code("13800000000").as_deref(), Some("222222"));
        assert_eq!(s.last_code("13900000000"), None);
    }
}
