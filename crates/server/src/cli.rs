//! The command line: `serve`, `import`, `export`, `demo`, `reindex`, `user`, `access`.

use crate::app::{AppState, default_index_dir};
use crate::auth::Role;
use crate::registry::fields::RecordKind;
use crate::registry::import::{ImportOptions, Table, file_digest_of, import_table, record_run};
use crate::search::SearchIndex;
use crate::storage::{DEFAULT_DB, Db};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use lifeservice_domain::CreditCode;
use lifeservice_domain::credit::RecordKind as CreditKind;
use lifeservice_domain::geo::Datum;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "lifeservice",
    version,
    about = "山西省生活服务平台 — Shanxi life-service platform"
)]
struct Cli {
    /// Database: sqlite:PATH or postgres://USER@HOST/DB[?schema=NAME]
    #[arg(long, global = true, env = "LIFESERVICE_DB", default_value = DEFAULT_DB)]
    db: String,
    /// Search index folder (default: beside the SQLite file)
    #[arg(long, global = true, env = "LIFESERVICE_INDEX_DIR")]
    index_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the web portal and the JSON API
    Serve {
        #[arg(long, env = "LIFESERVICE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
        /// Seed 20,000 synthetic outlets and demo accounts into an empty database
        #[arg(long)]
        demo: bool,
    },
    /// Import entities, outlets or community locations (CSV/XLSX; bad rows go to FILE.rejects.csv), or a walking network (OSM PBF)
    Import {
        kind: ImportKind,
        file: PathBuf,
        /// Coordinate system of the file: wgs84, or gcj02 (高德/腾讯 maps)
        #[arg(long, default_value = "wgs84")]
        crs: Crs,
        /// Name recorded in the audit log
        #[arg(long, default_value = "cli")]
        actor: String,
        /// Credit records: the submitting department's 统一社会信用代码 (every
        /// row's 数据来源单位 must be it)
        #[arg(long)]
        source_dept: Option<String>,
        /// Credit records: register an unknown credit code as an unregistered
        /// entity instead of rejecting the row
        #[arg(long)]
        register_unknown: bool,
    },
    /// Export outlets or entities (public view: personal data masked)
    Export {
        kind: ExportKind,
        #[arg(long, default_value = "csv")]
        format: ExportFormat,
        #[arg(long)]
        out: PathBuf,
        /// In the import template's columns, nothing masked, for the department
        /// to edit and import back (含个人信息，注意保管)
        #[arg(long)]
        for_import: bool,
    },
    /// Generate the synthetic demo dataset
    Demo {
        #[arg(long, default_value_t = crate::demo::DEFAULT_OUTLETS)]
        outlets: usize,
        #[arg(long, default_value_t = crate::demo::DEFAULT_SEED)]
        seed: u64,
        /// Also generate this many synthetic reviews (好差评) over the outlets
        #[arg(long, default_value_t = 0)]
        reviews: usize,
    },
    /// Rebuild the search index from the database (stop the server first)
    Reindex,
    /// Copy every table to another (empty) database, verified by row counts and checksums
    MigrateData {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
    /// A consistent backup of the live database given by --db (SQLite file, or pg_dump custom format)
    Backup {
        #[arg(long)]
        out: PathBuf,
    },
    /// Manage accounts
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Walking accessibility (一刻钟便民生活圈) tools
    Access {
        #[command(subcommand)]
        command: AccessCommand,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add an account; the password is read from LIFESERVICE_PASSWORD or standard input
    Add {
        username: String,
        /// admin, department, division or entity
        #[arg(long)]
        role: String,
        /// department: service type or major category codes (0101,03); division: a
        /// division code; entity: its 统一社会信用代码
        #[arg(long, default_value = "")]
        scope: String,
        /// Display name, e.g. 省民政厅
        #[arg(long)]
        name: Option<String>,
        /// The agency the account submits credit records for: 统一社会信用代码,名称
        #[arg(long)]
        agency: Option<String>,
        /// The plan unit the account reports progress for: U05 or its name (省商务厅)
        #[arg(long)]
        plan_unit: Option<String>,
    },
    /// Create an API token for an account (printed once)
    Token {
        username: String,
        #[arg(long, default_value = "cli")]
        label: String,
    },
}

#[derive(Subcommand)]
enum AccessCommand {
    /// Network distance from each origin to the nearest facility of each category
    Nearest {
        #[arg(long)]
        osm: PathBuf,
        #[arg(long)]
        origins: PathBuf,
        #[arg(long)]
        facilities: PathBuf,
        #[arg(long, default_value_t = 1000.0)]
        cutoff_m: f64,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = lifeservice_access::DEFAULT_MAX_SNAP_M)]
        max_snap_m: f64,
        #[arg(long, default_value_t = 4.0)]
        speed_kmh: f64,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ImportKind {
    Entities,
    Outlets,
    /// `code,lon,lat[,population]` of village/community-level divisions
    Communities,
    /// The walking network, from an OpenStreetMap PBF extract
    Osm,
    /// 行政许可 in the 双公示 layout
    Licences,
    /// 行政处罚 in the 双公示 layout
    Penalties,
    /// 抽查检查结果
    Inspections,
    /// 经营异常名录 and 严重违法失信名单
    Listings,
    /// 信用承诺
    Pledges,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportKind {
    Entities,
    Outlets,
}

impl From<ExportKind> for RecordKind {
    fn from(k: ExportKind) -> Self {
        match k {
            ExportKind::Entities => RecordKind::Entities,
            ExportKind::Outlets => RecordKind::Outlets,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum Crs {
    Wgs84,
    Gcj02,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    Csv,
    Xlsx,
    Json,
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    // Copying and backing up read whole tables by design: sqlx's warning that
    // a statement took over a second would fire for every large table and
    // bury the command's own report.
    let default_filter = match cli.command {
        Command::MigrateData { .. } | Command::Backup { .. } => "info,tantivy=warn,sqlx=error",
        _ => "info,tantivy=warn,sqlx=warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default_filter.into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("错误：{e:#}");
            ExitCode::FAILURE
        }
    }
}

fn bar(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let index_dir = cli
        .index_dir
        .clone()
        .unwrap_or_else(|| default_index_dir(&cli.db));
    match cli.command {
        Command::Access { command } => return access(command),
        Command::MigrateData { from, to } => return migrate_data(&from, &to).await,
        _ => {}
    }
    let db = Db::open(&cli.db).await?;
    match cli.command {
        Command::Serve { listen, demo } => {
            let search = Arc::new(SearchIndex::open(&index_dir)?);
            let network = crate::circle::network_path(&cli.db);
            if demo {
                seed_demo(&db, &network).await?;
            }
            if search.applied_seq() == 0 && search.num_docs() == 0 {
                let total =
                    crate::registry::store::count_outlets(&mut *db.pool().acquire().await?).await?;
                tracing::info!(outlets = total, "building the search index");
                search.rebuild(&db, None).await?;
            }
            let circles = crate::circle::CircleService::new(network);
            circles.rebuild(&db).await?;
            let state = AppState::new(db, search, circles);
            state.refresh_index().await;
            crate::app::serve(state, &listen).await?;
        }
        Command::Import {
            kind,
            file,
            crs,
            actor,
            source_dept,
            register_unknown,
        } => {
            let datum = match crs {
                Crs::Wgs84 => Datum::Wgs84,
                Crs::Gcj02 => Datum::Gcj02,
            };
            return match kind {
                ImportKind::Entities => {
                    import(&db, RecordKind::Entities, &file, datum, &actor).await
                }
                ImportKind::Outlets => import(&db, RecordKind::Outlets, &file, datum, &actor).await,
                ImportKind::Communities => import_communities(&db, &file, datum).await,
                ImportKind::Osm => import_osm(&cli.db, &file),
                ImportKind::Licences
                | ImportKind::Penalties
                | ImportKind::Inspections
                | ImportKind::Listings
                | ImportKind::Pledges => {
                    let kind = match kind {
                        ImportKind::Licences => CreditKind::Licence,
                        ImportKind::Penalties => CreditKind::Penalty,
                        ImportKind::Inspections => CreditKind::Inspection,
                        ImportKind::Listings => CreditKind::Listing,
                        _ => CreditKind::Pledge,
                    };
                    let source = source_dept.ok_or_else(|| {
                        anyhow::anyhow!(
                            "导入信用记录须用 --source-dept 指定报送部门的统一社会信用代码"
                        )
                    })?;
                    let options = crate::credit::import::CreditImportOptions {
                        actor,
                        submitter: Some(
                            CreditCode::parse(&source)
                                .map_err(|e| anyhow::anyhow!("--source-dept“{source}”无效：{e}"))?,
                        ),
                        register_unknown,
                        rules: Default::default(),
                    };
                    import_credit(&db, kind, &file, &options).await
                }
            };
        }
        Command::Export {
            kind,
            format,
            out,
            for_import,
        } => export(&db, kind.into(), format, &out, for_import).await?,
        Command::Demo {
            outlets,
            seed,
            reviews,
        } => {
            let bar = bar(outlets as u64, "生成演示数据");
            let (entities, outlets) = crate::demo::generate(&db, outlets, seed, Some(&bar)).await?;
            bar.finish();
            println!("已生成合成数据：{entities}个市场主体，{outlets}个服务网点（种子{seed}）");
            if reviews > 0 {
                let review_bar = self::bar(reviews as u64, "生成演示评价");
                let service = crate::reviews::ReviewService::default();
                let written = crate::reviews::demo::generate(
                    &db,
                    &service,
                    reviews,
                    seed,
                    true,
                    Some(&review_bar),
                )
                .await?;
                review_bar.finish();
                println!("已生成合成评价：{written}条");
            }
        }
        Command::Backup { out } => {
            crate::transfer::backup(&db, &cli.db, &out).await?;
            println!("已备份到 {}", out.display());
        }
        Command::Reindex => {
            let search = SearchIndex::open(&index_dir)?;
            let total =
                crate::registry::store::count_outlets(&mut *db.pool().acquire().await?).await?;
            let bar = bar(total as u64, "重建索引");
            let indexed = search.rebuild(&db, Some(&bar)).await?;
            bar.finish();
            println!("索引已重建：{indexed}个在营服务网点");
        }
        Command::User { command } => user(&db, command).await?,
        Command::Access { .. } | Command::MigrateData { .. } => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn migrate_data(from: &str, to: &str) -> anyhow::Result<ExitCode> {
    let (from, to) = (Db::open(from).await?, Db::open(to).await?);
    let bar = bar(0, "迁移");
    let started = std::time::Instant::now();
    let done = crate::transfer::migrate_data(&from, &to, Some(&bar)).await?;
    bar.finish_and_clear();
    println!("| 表 | 行数 | 复制耗时 | 行/秒 | SHA-256 |\n|---|---|---|---|---|");
    for (c, s) in done.copied.iter().zip(&done.verified) {
        let seconds = c.elapsed.as_secs_f64();
        println!(
            "| {} | {} | {seconds:.1} s | {:.0} | {} |",
            s.table,
            s.rows,
            c.rows as f64 / seconds.max(1e-3),
            s.sha256
        );
    }
    let rows: u64 = done.copied.iter().map(|c| c.rows).sum();
    let copying: f64 = done.copied.iter().map(|c| c.elapsed.as_secs_f64()).sum();
    println!(
        "迁移完成：{}张表的行数和校验和一致；复制 {rows} 行用时 {copying:.1} 秒（{:.0} 行/秒），含校验共 {:.1} 秒",
        done.verified.len(),
        rows as f64 / copying.max(1e-3),
        started.elapsed().as_secs_f64()
    );
    Ok(ExitCode::SUCCESS)
}

async fn seed_demo(db: &Db, network: &std::path::Path) -> anyhow::Result<()> {
    let existing = crate::registry::store::count_outlets(&mut *db.pool().acquire().await?).await?;
    if existing > 0 {
        tracing::info!(
            outlets = existing,
            "database not empty; demo data not seeded"
        );
        return Ok(());
    }
    tracing::info!("seeding {} synthetic outlets", crate::demo::DEFAULT_OUTLETS);
    crate::demo::generate(
        db,
        crate::demo::DEFAULT_OUTLETS,
        crate::demo::DEFAULT_SEED,
        None,
    )
    .await?;
    let located = crate::demo::generate_circles(db, network, crate::demo::DEFAULT_SEED).await?;
    tracing::info!(
        communities = located,
        "demo street network for 小店区 and 迎泽区 generated"
    );
    for (username, name, role, scope) in [
        ("admin", "平台管理员（演示）", "admin", ""),
        ("minzheng", "省民政厅（演示）", "department", "03,0107"),
        (
            "shangwu",
            "省商务厅（演示）",
            "department",
            "07,0101,0102,0103,0104,0105,0901,1201,1202",
        ),
        ("xiaodian", "小店区（演示）", "division", "140105"),
        ("shichang", "省市场监管局（演示）", "department", "01,07"),
    ] {
        let role = Role::parse(role, scope).map_err(anyhow::Error::msg)?;
        let id = crate::auth::add_user(db, username, name, "demo-password-2025", &role)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        if let Some((_, agency)) = crate::credit::demo::demo_agencies()
            .into_iter()
            .find(|(u, _)| *u == username)
        {
            crate::auth::set_agency(db, id, &agency)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        let unit = match username {
            "shangwu" => Some("省商务厅"),
            "minzheng" => Some("省民政厅"),
            "shichang" => Some("省市场监管局"),
            _ => None,
        };
        if let Some(unit) = unit {
            crate::auth::set_plan_unit(db, id, unit)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    let records = crate::credit::demo::generate_credit(db, crate::demo::DEFAULT_SEED, 20).await?;
    tracing::info!(records, "synthetic credit records generated");
    tracing::info!(
        "demo accounts admin, minzheng, shangwu, shichang, xiaodian with password demo-password-2025 (demo only)"
    );
    let reviews = crate::reviews::demo::generate(
        db,
        &crate::reviews::ReviewService::default(),
        crate::reviews::demo::DEMO_REVIEWS,
        crate::demo::DEFAULT_SEED,
        true,
        None,
    )
    .await?;
    tracing::info!(reviews, "synthetic reviews (好差评) generated");
    let plan_reports = crate::plan::demo::generate(db, crate::demo::DEFAULT_SEED)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    tracing::info!(plan_reports, "synthetic plan progress reports generated");
    if let Some(code) = add_demo_entity_account(db).await? {
        tracing::info!(%code, "demo entity account shangjia (password demo-password-2025)");
    }
    Ok(())
}

/// `shangjia`, the account of the synthetic entity with the most cases still
/// waiting for its steps, so that the 好差评 desk has work to show.
async fn add_demo_entity_account(db: &Db) -> anyhow::Result<Option<String>> {
    let busiest: Option<(String, String)> = sqlx::query_as(
        "SELECT e.credit_code, e.name FROM review_cases c JOIN entities e ON e.id = c.entity_id \
         WHERE c.status IN ('open', 'contacted') GROUP BY e.credit_code, e.name ORDER BY COUNT(*) DESC, e.credit_code LIMIT 1",
    )
    .fetch_optional(db.pool())
    .await?;
    let Some((code, name)) = busiest else {
        return Ok(None);
    };
    let role = Role::parse("entity", &code).map_err(anyhow::Error::msg)?;
    crate::auth::add_user(db, "shangjia", &name, "demo-password-2025", &role)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(Some(code))
}

fn import_osm(db_url: &str, file: &PathBuf) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let network = match lifeservice_access::Network::from_pbf(file) {
        Ok(n) => n,
        Err(e) => {
            eprintln!("错误：{}：{e}", file.display());
            return Ok(ExitCode::from(2));
        }
    };
    let path = crate::circle::network_path(db_url);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    network.save_cache(&path)?;
    println!(
        "步行路网已导入：{}个节点，{}条边，用时{:.1}秒（{}）；重启服务后生效",
        network.node_count(),
        network.edge_count(),
        started.elapsed().as_secs_f64(),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn import_credit(
    db: &Db,
    kind: CreditKind,
    file: &std::path::Path,
    options: &crate::credit::import::CreditImportOptions,
) -> anyhow::Result<ExitCode> {
    let Some((table, digest)) = open_table(file) else {
        return Ok(ExitCode::from(2));
    };
    let progress = bar(table.approx_rows(), "导入");
    let started = std::time::Instant::now();
    let report =
        match crate::credit::import::import_credit(db, kind, table, options, Some(&progress)).await
        {
            Ok(r) => r,
            Err(e) => {
                progress.abandon();
                eprintln!("错误：{}：{e}", file.display());
                return Ok(ExitCode::from(2));
            }
        };
    progress.finish_and_clear();
    finish_import(
        db,
        crate::credit::fields::plural(kind),
        file,
        &join_digest(digest)?,
        &report,
        &options.actor,
        started,
    )
    .await
}

async fn import_communities(db: &Db, file: &PathBuf, datum: Datum) -> anyhow::Result<ExitCode> {
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("无法读取文件 {}：{e}", file.display()))?;
    let source = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let report = match Table::read(&bytes) {
        Ok(table) => crate::circle::import::import_communities(db, &table, datum, &source).await,
        Err(e) => Err(e),
    };
    let report = match report {
        Ok(r) => r,
        Err(e) => {
            eprintln!("错误：{}：{e}", file.display());
            return Ok(ExitCode::from(2));
        }
    };
    println!(
        "共{}行：定位{}个村（社区），拒绝{}",
        report.rows, report.updated, report.rejected_rows
    );
    write_rejects(file, &report)?;
    Ok(if report.updated > 0 || report.rows == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn write_rejects(
    file: &std::path::Path,
    report: &crate::registry::import::ImportReport,
) -> anyhow::Result<()> {
    if !report.rejects.is_empty() {
        let mut rejects = file.as_os_str().to_owned();
        rejects.push(".rejects.csv");
        std::fs::write(&rejects, report.rejects_csv())?;
        println!("被拒绝的行及原因见 {}", PathBuf::from(rejects).display());
    }
    Ok(())
}

async fn import(
    db: &Db,
    kind: RecordKind,
    file: &std::path::Path,
    datum: Datum,
    actor: &str,
) -> anyhow::Result<ExitCode> {
    let Some((table, digest)) = open_table(file) else {
        return Ok(ExitCode::from(2));
    };
    let options = ImportOptions {
        datum,
        actor: actor.to_string(),
        synthetic: false,
        principal: None,
    };
    let progress = bar(table.approx_rows(), "导入");
    let started = std::time::Instant::now();
    let report = match import_table(db, kind, table, &options, Some(&progress)).await {
        Ok(r) => r,
        Err(e) => {
            progress.abandon();
            eprintln!("错误：{}：{e}", file.display());
            return Ok(ExitCode::from(2));
        }
    };
    progress.finish_and_clear();
    finish_import(
        db,
        kind.as_str(),
        file,
        &join_digest(digest)?,
        &report,
        actor,
        started,
    )
    .await
}

/// A file to import, with its SHA-256 computed on another thread while the
/// file is imported; `None` when it cannot be read (the reason is printed).
fn open_table(
    file: &std::path::Path,
) -> Option<(Table, std::thread::JoinHandle<std::io::Result<String>>)> {
    match Table::open(file) {
        Ok(table) => {
            let path = file.to_path_buf();
            Some((table, std::thread::spawn(move || file_digest_of(&path))))
        }
        Err(e) => {
            eprintln!("错误：{}：{e}", file.display());
            None
        }
    }
}

fn join_digest(digest: std::thread::JoinHandle<std::io::Result<String>>) -> anyhow::Result<String> {
    let digest = digest
        .join()
        .map_err(|_| anyhow::anyhow!("计算文件摘要的线程异常退出"))?;
    Ok(digest?)
}

/// Records the run, prints its summary and writes the rejects beside the file.
async fn finish_import(
    db: &Db,
    kind: &str,
    file: &std::path::Path,
    digest: &str,
    report: &crate::registry::import::ImportReport,
    actor: &str,
    started: std::time::Instant,
) -> anyhow::Result<ExitCode> {
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    record_run(db, kind, &file_name, digest, report, actor).await?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{}（用时{seconds:.1}秒，{:.0}行/秒）",
        report.summary_zh(),
        report.rows as f64 / seconds.max(1e-9)
    );
    if !report.ignored_columns.is_empty() {
        println!(
            "未识别的列（已忽略）：{}",
            report.ignored_columns.join("、")
        );
    }
    write_rejects(file, report)?;
    let imported = report.inserted + report.updated + report.unchanged;
    Ok(if imported > 0 || report.rows == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn user(db: &Db, command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::Add {
            username,
            role,
            scope,
            name,
            agency,
            plan_unit,
        } => {
            let role = Role::parse(&role, &scope).map_err(anyhow::Error::msg)?;
            let agency = agency.map(|a| parse_agency(&a)).transpose()?;
            let password = match std::env::var("LIFESERVICE_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    eprintln!("请输入密码（至少10位）：");
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_string()
                }
            };
            let display = name.unwrap_or_else(|| username.clone());
            let id = crate::auth::add_user(db, &username, &display, &password, &role)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if let Some(agency) = &agency {
                crate::auth::set_agency(db, id, agency)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            if let Some(unit) = &plan_unit {
                crate::auth::set_plan_unit(db, id, unit)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            println!("已创建账号 {username}（{}）", role.zh());
        }
        UserCommand::Token { username, label } => {
            let id: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
                .bind(username.clone())
                .fetch_optional(db.pool())
                .await?;
            let id = id.ok_or_else(|| anyhow::anyhow!("账号 {username} 不存在"))?;
            println!(
                "{}",
                crate::auth::create_api_token(db, id, &label)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
            );
        }
    }
    Ok(())
}

/// `统一社会信用代码,名称`
fn parse_agency(text: &str) -> anyhow::Result<crate::auth::Agency> {
    let (code, name) = text
        .split_once([',', '，'])
        .ok_or_else(|| anyhow::anyhow!("--agency 应写作“统一社会信用代码,名称”"))?;
    Ok(crate::auth::Agency {
        code: CreditCode::parse(code.trim())
            .map_err(|e| anyhow::anyhow!("--agency 代码“{code}”无效：{e}"))?,
        name: name.trim().to_string(),
    })
}

async fn export(
    db: &Db,
    kind: RecordKind,
    format: ExportFormat,
    out: &PathBuf,
    for_import: bool,
) -> anyhow::Result<()> {
    let rows = if for_import {
        crate::registry::export::importable_rows(db, kind, None).await?
    } else {
        crate::registry::export::public_rows(db, kind).await?
    };
    let tmp = out.with_extension("partial");
    match format {
        ExportFormat::Csv => std::fs::write(&tmp, crate::registry::export::to_csv(&rows))?,
        ExportFormat::Json => std::fs::write(&tmp, serde_json::to_vec_pretty(&rows.to_json())?)?,
        ExportFormat::Xlsx => crate::registry::export::to_xlsx(&rows, &tmp)?,
    }
    std::fs::rename(&tmp, out)?;
    println!("已导出{}行到 {}", rows.records.len(), out.display());
    Ok(())
}

fn access(command: AccessCommand) -> anyhow::Result<ExitCode> {
    let AccessCommand::Nearest {
        osm,
        origins,
        facilities,
        cutoff_m,
        out,
        max_snap_m,
        speed_kmh,
    } = command;
    let mut args = lifeservice_access::NearestCsvArgs::new(osm, origins, facilities, out);
    args.cutoff_m = Some(cutoff_m);
    args.max_snap_m = max_snap_m;
    args.speed_kmh = speed_kmh;
    let summary = lifeservice_access::nearest_csv(&args)?;
    eprintln!(
        "network {} nodes / {} edges; {} origins, {} facilities; {} rows written; {} origins and {} facilities outside the network",
        summary.nodes,
        summary.edges,
        summary.origins,
        summary.facilities,
        summary.rows,
        summary.unreachable_origins.len(),
        summary.unreachable_facilities.len()
    );
    Ok(ExitCode::SUCCESS)
}
