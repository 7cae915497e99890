//! Moving data: a SQLite deployment copied to PostgreSQL table by table and
//! verified, and consistent backups of both backends.

mod common;

use common::{Backend, postgres_url, spawn_app};
use lifeservice::storage::Db;
use lifeservice::transfer::{TABLES, backup, migrate_data, table_sum};

async fn populated(app: &common::TestApp) {
    app.seed_outlets().await;
    lifeservice::credit::demo::generate_credit(&app.state.db, 1, 1)
        .await
        .unwrap();
    app.add_user("officer", "division", "140105").await;
    // Text that CSV (PostgreSQL's COPY) must quote, an empty string beside a
    // NULL, and a float written with its full precision.
    sqlx::query(
        "UPDATE outlets SET address = $1, hours = '', phone = NULL, lon = 112.123456789012345 \
         WHERE id = (SELECT MIN(id) FROM outlets)",
    )
    .bind("迎泽大街\"1号\",东侧\n二层\\后门\r")
    .execute(app.state.db.pool())
    .await
    .unwrap();
    // A table without rowids (SQLite) is copied line by line.
    sqlx::query(
        "INSERT INTO stat_cells (measure, division_code, category, period, value) \
         VALUES ('outlets_opened', '140105', '01', '2026-10', 7), ('outlets_opened', '1401', '01', '2026-10', 9)",
    )
    .execute(app.state.db.pool())
    .await
    .unwrap();
    // Plan reports mix empty and given values (a float column with NULLs),
    // and an attachment is a binary column.
    lifeservice::plan::demo::generate(&app.state.db, 1)
        .await
        .unwrap();
    let admin = lifeservice::auth::Principal {
        user_id: 0,
        username: "admin".into(),
        display_name: "admin".into(),
        role: lifeservice::auth::Role::Admin,
        agency: None,
        plan_unit: None,
        csrf: None,
    };
    let report: i64 = sqlx::query_scalar("SELECT MIN(id) FROM plan_reports")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    lifeservice::plan::attachments::attach(
        &app.state.db,
        &admin,
        report,
        "证明.pdf",
        b"%PDF-1.7 \x00\xff",
    )
    .await
    .unwrap();
}

async fn sums(db: &Db) -> Vec<lifeservice::transfer::TableSum> {
    let mut out = Vec::new();
    for (table, key) in TABLES {
        out.push(table_sum(db, table, key).await.unwrap());
    }
    out
}

#[tokio::test]
async fn sqlite_backup_is_a_consistent_copy() {
    let app = spawn_app(Backend::Sqlite).await;
    populated(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("backup.db");
    backup(&app.state.db, &app.db_url, &out).await.unwrap();
    let error = backup(&app.state.db, &app.db_url, &out).await.unwrap_err();
    assert!(
        error.to_string().contains("已存在"),
        "never overwrites: {error}"
    );
    let copy = Db::open(&format!("sqlite:{}", out.display()))
        .await
        .unwrap();
    let original = sums(&app.state.db).await;
    assert!(
        original
            .iter()
            .any(|s| s.table == "credit_records" && s.rows > 0)
    );
    assert_eq!(sums(&copy).await, original);
}

#[tokio::test]
async fn sqlite_data_migrates_to_postgres_verified_and_keeps_working() {
    let Some(base) = postgres_url().await else {
        return;
    };
    let app = spawn_app(Backend::Sqlite).await;
    populated(&app).await;
    let schema = format!("m_{}", &lifeservice::auth::new_token()[..12]);
    let url = format!("{base}?schema={schema}");
    let target = Db::open(&url).await.unwrap();
    let done = migrate_data(&app.state.db, &target, None).await.unwrap();
    assert_eq!(done.verified.len(), TABLES.len());
    let copied: u64 = done.copied.iter().map(|c| c.rows).sum();
    assert_eq!(copied, done.verified.iter().map(|s| s.rows).sum::<u64>());
    assert_eq!(sums(&target).await, sums(&app.state.db).await);

    // COPY dropped the secondary indexes and built them again: the copy has
    // every index a new database has.
    let fresh_schema = format!("f_{}", &lifeservice::auth::new_token()[..12]);
    Db::open(&format!("{base}?schema={fresh_schema}"))
        .await
        .unwrap();
    let catalogue = |sql: &'static str, schema: String| {
        let base = base.clone();
        async move {
            let pool = sqlx::AnyPool::connect(&base).await.unwrap();
            sqlx::query_scalar::<_, String>(sql)
                .bind(schema)
                .fetch_all(&pool)
                .await
                .unwrap()
        }
    };
    let indexes =
        "SELECT tablename || '.' || indexname FROM pg_indexes WHERE schemaname = $1 ORDER BY 1";
    let copied = catalogue(indexes, schema.clone()).await;
    assert!(
        copied.contains(&"reviews.reviews_outlet_time".to_string()),
        "{copied:?}"
    );
    assert_eq!(copied, catalogue(indexes, fresh_schema.clone()).await);
    // And every key, unique constraint and foreign key, as defined.
    let constraints = "SELECT c.conname || ' ' || pg_get_constraintdef(c.oid) \
        FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = $1 ORDER BY 1";
    let copied = catalogue(constraints, schema.clone()).await;
    assert!(
        copied.iter().any(|c| c.contains("FOREIGN KEY (outlet_id)")),
        "{copied:?}"
    );
    let fresh = catalogue(constraints, fresh_schema.clone()).await;
    let unqualified = |list: Vec<String>, schema: &str| -> Vec<String> {
        let prefix = format!("{schema}.");
        list.into_iter().map(|c| c.replace(&prefix, "")).collect()
    };
    assert_eq!(
        unqualified(copied, &schema),
        unqualified(fresh, &fresh_schema)
    );

    // A second run refuses a target that already holds data.
    let again = migrate_data(&app.state.db, &target, None)
        .await
        .unwrap_err();
    assert!(again.to_string().contains("请使用空数据库"), "{again}");

    // Sequences continue after the copied ids: new writes get fresh ids.
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO changes (object_type, object_id) VALUES ('entity', 1) RETURNING seq",
    )
    .fetch_one(target.pool())
    .await
    .unwrap();
    let max: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM changes")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(id, max + 1);

    // And back from PostgreSQL into a new SQLite file, the same.
    let dir = tempfile::tempdir().unwrap();
    let back = Db::open(&format!("sqlite:{}", dir.path().join("back.db").display()))
        .await
        .unwrap();
    migrate_data(&target, &back, None).await.unwrap();
    assert_eq!(sums(&back).await, sums(&target).await);

    // pg_dump backup of the schema.
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("backup.pgdump");
    backup(&target, &url, &dump).await.unwrap();
    assert!(std::fs::metadata(&dump).unwrap().len() > 10_000);

    let pool = sqlx::AnyPool::connect(&base).await.unwrap();
    for schema in [schema, fresh_schema] {
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&pool)
            .await
            .unwrap();
    }
}
