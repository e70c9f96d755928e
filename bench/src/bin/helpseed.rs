//! Loads many published help-centre articles straight through `palisade_store`, the way
//! the API writes them: each authorised by the policy engine, sealed, versioned,
//! published and audited, many per transaction. Most are public; every tenth is
//! internal and every tenth for signed-in customers, so the audience filter has work.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use clap::Parser;
use palisade_assist::ArticleInput;
use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{ArticleId, EmailAddress, Principal, Role};
use palisade_crypto::{Keyring, MasterKey};
use palisade_policy::{Action, ArticleFacts, PolicyEngine, Resource};
use palisade_store::{NewUser, Store};

#[derive(Parser)]
#[command(about = "Seed a Palisade database with published help-centre articles (benchmark setup)")]
struct Args {
    #[arg(long)]
    database_url: String,
    #[arg(long)]
    master_key_file: PathBuf,
    #[arg(long, default_value_t = 10_000)]
    count: u64,
    #[arg(long, default_value_t = 250)]
    batch: u64,
}

/// Support vocabulary; bench/wrk/help.lua asks questions from the same words.
const WORDS: &[&str] = &[
    "refund",
    "delivery",
    "invoice",
    "password",
    "printer",
    "warranty",
    "shipping",
    "account",
    "order",
    "subscription",
    "cancel",
    "payment",
    "discount",
    "return",
    "exchange",
    "tracking",
    "parcel",
    "damaged",
    "voucher",
    "address",
    "billing",
    "receipt",
    "upgrade",
    "license",
    "installation",
    "battery",
    "screen",
    "charger",
    "repair",
    "store",
];

fn word(n: u64) -> &'static str {
    WORDS[(n % WORDS.len() as u64) as usize]
}

fn article(i: u64) -> ArticleInput {
    // A pseudo-random but reproducible mix of words per article.
    let mut x = i.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let title = format!("{} and {} help {i}", word(next()), word(next()));
    let mut body = String::new();
    for p in 0..4 {
        body.push_str("<p>");
        for _ in 0..30 {
            body.push_str(word(next()));
            body.push(' ');
        }
        body.push_str(&format!("(section {p})</p>"));
    }
    let audience = match i % 10 {
        0 => "internal",
        1 => "customers",
        _ => "public",
    };
    ArticleInput {
        title,
        body_html: body,
        locale: "en".into(),
        audience: audience.into(),
        ..ArticleInput::default()
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(seed(args))
}

async fn seed(args: Args) -> anyhow::Result<()> {
    let master = MasterKey::load(&args.master_key_file)
        .with_context(|| format!("reading {}", args.master_key_file.display()))?;
    let store = Store::connect(&args.database_url, Arc::new(Keyring::new(&master))).await?;
    let policy = PolicyEngine::load()?;
    let mut tx = store.begin().await?;
    let author = store
        .create_user(
            &mut tx,
            &NewUser {
                role: Role::Agent,
                email: EmailAddress::parse("author@bench.test")?,
                name: "Bench Author".into(),
                phone: None,
                company: None,
                password_hash: None,
            },
        )
        .await?;
    tx.commit().await?;
    let principal = Principal {
        user_id: author.clone(),
        role: Role::Agent,
        teams: vec![],
        company: None,
        session: None,
        scopes: None,
    };
    let ctx = AuditContext {
        actor: author.to_string(),
        ..AuditContext::default()
    };
    let started = Instant::now();
    let mut i = 0;
    while i < args.count {
        let mut tx = store.begin().await?;
        for _ in 0..args.batch.min(args.count - i) {
            let draft = article(i).into_draft()?;
            let id = ArticleId::generate();
            let proof = policy.authorize(
                &principal,
                Action::ArticleManage,
                &Resource::Article(ArticleFacts {
                    id: id.clone(),
                    audience: draft.audience,
                    companies: vec![],
                    published: false,
                }),
            )?;
            store
                .create_article(&mut tx, &proof, &id, &author, &draft)
                .await?;
            store.set_published_version(&mut tx, &proof, &id, Some(1)).await?;
            let event = AuditEvent::new(AuditAction::ArticlePublished, id.as_str(), Outcome::Success);
            store.append_audit(&mut tx, &ctx, &event).await?;
            i += 1;
        }
        tx.commit().await?;
    }
    eprintln!(
        "seeded {} articles in {:.1} s",
        args.count,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
