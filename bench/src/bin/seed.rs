//! Loads many tickets straight through `palisade_store` (not over HTTP), the way the
//! API would write them: each ticket is authorised by the policy engine, sealed under its
//! requester's data key, indexed, and recorded in the audit chain in the same
//! transaction. Transactions hold `--batch` tickets each, so seeding is fast.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context as _, bail};
use clap::Parser;
use palisade_audit::{AuditAction, AuditContext, AuditEvent, Outcome};
use palisade_core::{EmailAddress, MessageId, Principal, Role, TicketId, UserId};
use palisade_crypto::{Keyring, MasterKey};
use palisade_policy::{Action, PolicyEngine, Resource, TicketFacts};
use palisade_store::{BulkTicket, NewTicket, NewUser, Store, UserKind};
use serde_json::json;

#[derive(Parser)]
#[command(about = "Seed a Palisade database with customers and tickets (benchmark setup)")]
struct Args {
    /// `sqlite://…` or `postgres://…`, the same database `palisade serve` will use.
    #[arg(long)]
    database_url: String,
    /// The master key file of that installation.
    #[arg(long)]
    master_key_file: PathBuf,
    /// How many tickets to create.
    #[arg(long, default_value_t = 100_000)]
    count: u64,
    /// How many customers to spread the tickets over.
    #[arg(long, default_value_t = 1000)]
    customers: u64,
    /// Tickets per transaction.
    #[arg(long, default_value_t = 500)]
    batch: u64,
    /// The team that receives the tickets (created by `palisade admin create`).
    #[arg(long, default_value = "Support")]
    team_name: String,
    /// Where to write the created ticket ids, one per line.
    #[arg(long)]
    ids_out: PathBuf,
    /// Where to write the created customer ids, one per line (requesters for new tickets).
    #[arg(long)]
    customers_out: Option<PathBuf>,
    /// Write each transaction's tickets with a few multi-row statements
    /// (`create_tickets_bulk`, `append_audit_many`) instead of one use case at a time:
    /// the same rows, for seeding a million tickets.
    #[arg(long)]
    bulk: bool,
}

const WORDS: &[&str] = &[
    "printer", "invoice", "password", "laptop", "network", "refund", "shipping", "account", "screen",
    "keyboard", "license", "update", "backup", "calendar", "mailbox", "contract", "delivery", "warranty",
];

fn word(i: u64) -> &'static str {
    WORDS[(i % WORDS.len() as u64) as usize]
}

fn write_lines(path: &PathBuf, lines: &[String]) -> anyhow::Result<()> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    for line in lines {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.count == 0 || args.customers == 0 || args.batch == 0 {
        bail!("--count, --customers and --batch must be positive");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(seed(args))
}

async fn seed(args: Args) -> anyhow::Result<()> {
    let started = Instant::now();
    let master = MasterKey::load(&args.master_key_file)
        .with_context(|| format!("loading {}", args.master_key_file.display()))?;
    let store = Store::connect(&args.database_url, Arc::new(Keyring::new(&master))).await?;
    let policy = PolicyEngine::load()?;
    let team = store
        .list_teams()
        .await?
        .into_iter()
        .find(|t| t.name == args.team_name)
        .with_context(|| {
            format!(
                "no team named {:?}; run `palisade admin create` first",
                args.team_name
            )
        })?
        .id;
    // Tickets are opened by the installation's administrator (messages need a real author).
    let admin_id = store
        .list_users(UserKind::Staff, None, 100)
        .await?
        .items
        .into_iter()
        .find(|u| u.role == Role::Admin && !u.disabled)
        .context("no administrator yet; run `palisade admin create` first")?
        .id;
    let admin = Principal {
        user_id: admin_id,
        role: Role::Admin,
        teams: vec![],
        company: None,
        session: None,
        scopes: None,
    };
    let ctx = AuditContext {
        actor: admin.user_id.to_string(),
        ip: "127.0.0.1".into(),
        user_agent: "palisade-bench seed".into(),
        session: String::new(),
    };

    // Customers, in transactions of up to `batch`.
    let run_tag = UserId::generate();
    let mut customers = Vec::with_capacity(args.customers as usize);
    while (customers.len() as u64) < args.customers {
        let mut tx = store.begin().await?;
        let upto = (customers.len() as u64 + args.batch).min(args.customers);
        for i in customers.len() as u64..upto {
            let new = NewUser {
                role: Role::Customer,
                // Unique per run, so seeding twice into one database works.
                email: EmailAddress::parse(&format!(
                    "customer{i}.{}@bench.test",
                    &run_tag.as_str()[4..12].to_ascii_lowercase()
                ))?,
                name: format!("Bench Customer {i}"),
                phone: None,
                company: None,
                password_hash: None,
            };
            let id = store.create_user(&mut tx, &new).await?;
            store
                .append_audit(
                    &mut tx,
                    &ctx,
                    &AuditEvent::new(AuditAction::UserCreated, id.to_string(), Outcome::Success)
                        .with_detail(json!({ "role": "customer" })),
                )
                .await?;
            customers.push(id);
        }
        tx.commit().await?;
    }
    println!(
        "seed: {} customers in {:.1}s",
        customers.len(),
        started.elapsed().as_secs_f64()
    );

    // Tickets.
    let tickets_started = Instant::now();
    let mut ids = Vec::with_capacity(args.count as usize);
    let mut next_report = Instant::now();
    while (ids.len() as u64) < args.count {
        let upto = (ids.len() as u64 + args.batch).min(args.count);
        let mut batch = Vec::with_capacity((upto - ids.len() as u64) as usize);
        for i in ids.len() as u64..upto {
            let requester = customers[(i % customers.len() as u64) as usize].clone();
            let id = TicketId::generate();
            let facts = TicketFacts {
                id: id.clone(),
                requester: requester.clone(),
                collaborators: vec![],
                team: team.clone(),
                assignee: None,
                company: None,
                company_sharing: false,
                requester_confirmed: true,
            };
            let proof = policy.authorize(&admin, Action::TicketCreate, &Resource::Ticket(facts))?;
            let new = NewTicket {
                requester,
                team: team.clone(),
                subject: format!("Bench ticket {i}: the {} needs attention", word(i)),
                first_message: format!(
                    "Hello, since this morning my {} and my {} have stopped working. I tried restarting \
                     twice and checked the {} settings, but nothing changed. Could you please have a look? \
                     Reference {i}.",
                    word(i),
                    word(i / 7),
                    word(i / 13)
                ),
                author: admin.user_id.clone(),
            };
            batch.push((proof, id, new));
        }
        let created_event = |id: &TicketId, number: i64, message: &MessageId| {
            AuditEvent::new(AuditAction::TicketCreated, id.to_string(), Outcome::Success).with_detail(
                json!({ "number": number, "message": message.to_string(), "team": team.to_string() }),
            )
        };
        let mut tx = store.begin().await?;
        if args.bulk {
            let tickets: Vec<BulkTicket<'_>> = batch
                .iter()
                .map(|(proof, id, new)| BulkTicket { proof, id, new })
                .collect();
            let created = store.create_tickets_bulk(&mut tx, &tickets).await?;
            let events: Vec<AuditEvent> = batch
                .iter()
                .zip(&created)
                .map(|((_, id, _), (number, message))| created_event(id, *number, message))
                .collect();
            store.append_audit_many(&mut tx, &ctx, &events).await?;
        } else {
            for (proof, id, new) in &batch {
                let (number, message) = store.create_ticket(&mut tx, proof, id, new).await?;
                store
                    .append_audit(&mut tx, &ctx, &created_event(id, number, &message))
                    .await?;
            }
        }
        ids.extend(batch.iter().map(|(_, id, _)| id.to_string()));
        tx.commit().await?;
        if next_report.elapsed().as_secs() >= 5 || ids.len() as u64 == args.count {
            let secs = tickets_started.elapsed().as_secs_f64();
            println!(
                "seed: {}/{} tickets, {:.1}s, {:.0} tickets/s",
                ids.len(),
                args.count,
                secs,
                ids.len() as f64 / secs.max(1e-9)
            );
            next_report = Instant::now();
        }
    }
    // Their words go into the term index now, as `serve` would do in the background:
    // otherwise the first measured rounds would share the machine with that merge.
    let merging = Instant::now();
    let mut merged = 0;
    loop {
        let batch = store.merge_pending_terms(5_000).await?;
        merged += batch;
        if batch == 0 {
            break;
        }
    }
    println!(
        "seed: {merged} texts' search terms merged into the index in {:.1}s",
        merging.elapsed().as_secs_f64()
    );
    write_lines(&args.ids_out, &ids)?;
    if let Some(path) = &args.customers_out {
        let lines: Vec<String> = customers.iter().map(|c| c.to_string()).collect();
        write_lines(path, &lines)?;
    }
    store.close().await;
    println!(
        "seed: done, {} tickets for {} customers in {:.1}s total",
        ids.len(),
        customers.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
