use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum_server::tls_rustls::RustlsConfig;
use palisade_identity::{Identity, PasswordHasherPool};
use palisade_policy::PolicyEngine;
use palisade_store::UserKind;
use palisade_web::{AppParts, AppState, WebConfig};

use super::background;
use super::mail_setup::{MailboxSetup, mailboxes, reception, reply_notifier};
use crate::app;
use crate::config::Settings;
use crate::error::CliError;
use crate::tls;

pub async fn run(settings: &Settings) -> Result<(), CliError> {
    // Before anything slow (migrations): a reload asked for while starting must not
    // end the process, as SIGHUP's default action would.
    let hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .map_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP; certificate files are still checked every 30 s"))
        .ok();
    let opened = app::open(settings, true).await?;
    let metrics = settings.metrics_listen.map(|_| palisade_metrics::Metrics::new());
    let store = match &metrics {
        Some(metrics) => opened.store.clone().with_audit_tap(Arc::new(metrics.clone())),
        None => opened.store.clone(),
    };
    let policy = Arc::new(PolicyEngine::load()?);
    // Before anything is appended: a node whose key was handed over from is refused
    // here, and the first node with a new key records the handover.
    opened.store.hand_over_audit_signing().await?;
    write_audit_public_key(settings, &opened)?;
    // Before anything is served: erasures the ledger holds are done again (a restored
    // older backup), and those this database holds are written to this node's ledger.
    crate::erasures::reconcile(settings, &opened).await?;
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let identity = Identity::new(store.clone(), PasswordHasherPool::new(cores)?, settings.sessions)
        .with_relying_party(palisade_identity::RelyingParty::new(&settings.public_origin)?)
        .with_public_origin(&settings.public_origin)
        .with_token_rate_limits(palisade_identity::TokenRateLimits::per_minute(
            settings.token_requests_per_minute,
        ))
        .with_oidc(palisade_identity::OidcProviders::new(
            settings.oidc.clone(),
            &settings.public_origin,
        )?);
    let mail_setup = match &settings.smtp {
        Some(_) => Some(mailboxes(settings, &store).await?),
        None => None,
    };
    let help = palisade_assist::HelpCentre::open(store.clone()).await?;
    let (first_run, first_run_token) = first_run_link(&store).await?;
    let state = AppState::from(AppParts {
        anomaly: Arc::new(std::sync::Mutex::new(palisade_web::Detector::new(
            settings.anomaly,
        ))),
        help,
        store: store.clone(),
        identity,
        policy,
        config: Arc::new(WebConfig {
            public_origin: settings.public_origin.clone(),
            redactor: settings.redactor.clone(),
            trusted_proxies: settings.trusted_proxies.clone(),
            default_locale: settings.default_locale.clone(),
            assistant: settings.assistant,
            privacy_notice_url: settings.privacy_notice_url.clone(),
            public_limits: settings.public_limits,
            widget_origins: settings.widget_origins.clone(),
            anomaly: settings.anomaly,
            redact_mail: settings.smtp.as_ref().is_some_and(|smtp| smtp.redact),
            mail_file_limits: settings
                .smtp
                .as_ref()
                .map_or_else(palisade_mail::FileLimits::default, |smtp| smtp.file_limits),
            site_tokens: settings.site_tokens.clone(),
            scanner: settings.scanner.clone(),
            model: match &settings.model {
                Some(model) => Some(palisade_web::AssistantModel {
                    provider: Arc::new(
                        palisade_assist::assistant::OpenAiCompatible::new(model)
                            .map_err(|e| CliError::Config(e.to_string()))?,
                    ),
                    settings: model.clone(),
                }),
                None => None,
            },
            first_run,
            team_mailboxes: settings
                .smtp
                .iter()
                .flat_map(|smtp| &smtp.mailboxes)
                .map(|(address, team)| (address.as_str().to_owned(), team.clone()))
                .collect(),
            metrics: metrics.clone(),
            outside_parties: settings.outside_parties(),
            privacy: palisade_service::PrivacyRules {
                four_eyes: settings.privacy.four_eyes,
                answer_within_days: settings.privacy.answer_within_days,
                ledger: Some(Arc::new(palisade_backup::erasure_ledger::LedgerWriter::new(
                    palisade_backup::erasure_ledger::ErasureLedger::at(&settings.privacy.erasure_ledger),
                    opened.keyring.clone(),
                ))),
            },
            webhook_hosts: settings.webhooks.hosts(),
            ..WebConfig::default()
        }),
    });
    let (tls, server_cert) = tls::load_or_generate(
        &settings.data_dir,
        settings.tls_cert.as_deref(),
        settings.tls_key.as_deref(),
    )?;
    let app = palisade_web::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();

    tokio::spawn(background::checkpoint_loop(store.clone()));
    let (root_retired_tx, root_retired) = tokio::sync::oneshot::channel();
    tokio::spawn(background::learn_wrapping_keys(store.clone(), root_retired_tx));
    let (stop_smtp, smtp_stopping) = tokio::sync::watch::channel(false);
    tokio::spawn(tls::watch(server_cert, hangup, smtp_stopping.clone()));
    let mut outbox = None;
    match &settings.mail {
        Some(relay) => {
            let worker = palisade_mail::OutboxWorker::new(store.clone(), relay.clone())
                .map_err(|e| CliError::Config(e.to_string()))?
                .with_keys(&settings.reply_keys);
            outbox = Some(tokio::spawn(worker.run(smtp_stopping.clone())));
        }
        None => tracing::warn!(
            "no [mail] relay configured: password resets, invitations and security notices wait in the outbox"
        ),
    }
    // Security notices, and agents' public replies when mailboxes are set up, follow
    // the domain events (each subscriber on one node at a time across a cluster).
    let node = format!(
        "serve-{}-{}",
        std::process::id(),
        palisade_core::UnixMillis::now().0
    );
    let policy = Arc::new(palisade_policy::PolicyEngine::load()?);
    let mut dispatcher = palisade_service::Dispatcher::new(store.clone(), node.clone())
        .with_subscriber(Arc::new(palisade_service::SecurityNotices::new(store.clone())))
        .with_subscriber(Arc::new(palisade_service::sla::ServiceLevels::new(store.clone())))
        .with_subscriber(Arc::new(palisade_service::automation::Triggers::new(
            store.clone(),
        )))
        .with_subscriber(Arc::new(palisade_service::AgentNotifications::new(
            store.clone(),
            policy.clone(),
            settings.public_origin.clone(),
        )))
        .with_subscriber(Arc::new(palisade_service::WebhookQueue::new(store.clone())));
    tokio::spawn(background::notification_digests(
        palisade_service::Desk::new(store.clone(), policy.clone()),
        settings.public_origin.clone(),
        smtp_stopping.clone(),
    ));
    tokio::spawn(background::escalations(
        palisade_service::Desk::new(store.clone(), policy.clone()),
        settings.public_origin.clone(),
        smtp_stopping.clone(),
    ));
    tokio::spawn(background::rules(
        palisade_service::Desk::new(store.clone(), policy.clone()),
        settings.public_origin.clone(),
        smtp_stopping.clone(),
    ));
    tokio::spawn(background::remembered_refusals(
        state.identity.clone(),
        smtp_stopping.clone(),
    ));
    // Work that holds leases: on the way out each finishes its round, then the leases
    // are given back, so another node carries on at once.
    let mut leased = Vec::new();
    // Webhooks go out from every node (each delivery is leased), through the one
    // outbound client, judged on the addresses their names resolve to at each attempt.
    let webhooks = palisade_service::WebhookSender::new(
        palisade_service::Desk::new(store.clone(), policy.clone()),
        settings.webhooks.client()?,
        node.clone(),
    );
    leased.push(tokio::spawn(webhooks.run(
        Duration::from_secs(1),
        |e| tracing::warn!(error = %e, "sending webhooks"),
        smtp_stopping.clone(),
    )));
    if let Some(siem) = &settings.siem {
        leased.push(tokio::spawn(
            siem_exporter(siem, &settings.public_origin, &store, &node)?.run(smtp_stopping.clone()),
        ));
    }
    if let Some(db) = &settings.advisory_db {
        tokio::spawn(super::supply::daily_check(
            db.clone(),
            palisade_service::Desk::new(store.clone(), policy.clone()),
            smtp_stopping.clone(),
        ));
    }
    if let Some(backups) = super::scheduled_backups::ScheduledBackups::from_settings(
        settings,
        &store,
        palisade_service::Desk::new(store.clone(), policy.clone()),
        opened.keyring.clone(),
        &node,
    )? {
        leased.push(tokio::spawn(backups.run(smtp_stopping.clone())));
    }
    tokio::spawn(background::search_merge(store.clone(), smtp_stopping.clone()));
    if let Some(setup) = &mail_setup {
        dispatcher = dispatcher.with_subscriber(reply_notifier(
            setup,
            &store,
            &settings.public_origin,
            settings.scanner.is_some(),
        ));
    }
    if let (Some(listen), Some(metrics)) = (settings.metrics_listen, &metrics) {
        super::metrics::start(
            listen,
            metrics.clone(),
            store.clone(),
            settings.scanner.clone(),
            dispatcher.subscriber_names(),
            smtp_stopping.clone(),
        )
        .await?;
    }
    leased.push(tokio::spawn(dispatcher.run(
        Duration::from_secs(1),
        |e| tracing::warn!(error = %e, "handing domain events to subscribers"),
        smtp_stopping.clone(),
    )));
    // Files go into an export as the desk would serve them: scanned when scanning is on.
    let exports = palisade_service::Desk::new(store.clone(), policy.clone());
    let exports = match &settings.scanner {
        Some(scanner) => exports.with_scanner(scanner.clone()),
        None => exports,
    };
    tokio::spawn(background::build_exports(exports, smtp_stopping.clone()));
    leased.push(tokio::spawn(background::retention(
        palisade_service::Desk::new(store.clone(), policy.clone()),
        node.clone(),
        smtp_stopping.clone(),
    )));
    match &settings.scanner {
        Some(scanner) => {
            let desk =
                palisade_service::Desk::new(store.clone(), policy.clone()).with_scanner(scanner.clone());
            tokio::spawn(background::scan_sweep(desk, smtp_stopping.clone()));
        }
        None => tracing::warn!("[scan] clamd = \"off\": files are served without a malware scan"),
    }
    if let (Some(smtp), Some(setup)) = (&settings.smtp, &mail_setup)
        && !settings.imap.is_empty()
    {
        let reception = reception(settings, smtp, setup, &store)?;
        for mailbox in &settings.imap {
            let intake = palisade_mail::ImapIntake::new(
                mailbox.clone(),
                reception.clone(),
                setup.threading.clone(),
                smtp.max_message_bytes,
            )
            .map_err(|e| CliError::Config(e.to_string()))?;
            tracing::info!(mailbox = %mailbox.mailbox.as_str(), host = %mailbox.host, "taking mail by IMAP");
            tokio::spawn(intake.run(smtp_stopping.clone()));
        }
    }
    let mut smtp = None;
    if let (Some(listen), Some(setup)) = (settings.smtp.as_ref().and_then(|s| s.listen), mail_setup) {
        smtp = Some(start_smtp(settings, listen, setup, &store, &tls, metrics, smtp_stopping).await?);
    }
    if let Some(token) = first_run_token {
        eprintln!();
        eprintln!("No administrator exists yet. Open this link to become the first one (it works");
        eprintln!("once, while this server runs):");
        eprintln!("  {}/welcome/{}", settings.public_origin, token.expose());
        eprintln!("Or create one with `palisade admin create --email you@example.com --name \"Your Name\"`.");
        eprintln!();
    }

    let handle = axum_server::Handle::new();
    let shutdown = handle.clone();
    let stopped_for_root = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stopping_for_root = stopped_for_root.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = stop_requested() => {}
            // A root rotation began: what this node would write with the old root
            // nobody could find again.
            Ok(()) = root_retired => {
                stopping_for_root.store(true, std::sync::atomic::Ordering::SeqCst);
                tracing::error!("a root rotation retired this node's master key root: stopping; start again with the new key file");
            }
        }
        tracing::info!("stopping: new work refused, work in flight finishing");
        let _ = stop_smtp.send(true);
        shutdown.graceful_shutdown(Some(Duration::from_secs(10)));
    });
    tracing::info!(listen = %settings.listen, origin = %settings.public_origin, "Palisade is serving HTTPS");
    // Admission to the handshake, TLS, then the strict HTTP/1 framing guard, then hyper.
    let acceptor = crate::handshakes::AdmittedAcceptor {
        inner: crate::framing::GuardedAcceptor(axum_server::tls_rustls::RustlsAcceptor::new(
            RustlsConfig::from_config(Arc::new(tls)),
        )),
        admission: Arc::new(crate::handshakes::HandshakeAdmission::new(
            settings.tls_handshakes_per_second,
        )),
    };
    axum_server::bind(settings.listen)
        .acceptor(acceptor)
        .handle(handle)
        .serve(app)
        .await
        .map_err(|e| CliError::Io(format!("listening on {}", settings.listen), e))?;
    // Messages being received when the signal came are taken (or refused) first.
    if let Some(smtp) = smtp {
        let _ = smtp.await;
    }
    // The outbox worker finishing the message in hand, and leased work its round:
    // together, within one bound, so the whole stop fits systemd's stop timeout.
    leased.extend(outbox);
    let rounds = futures_all(leased);
    if tokio::time::timeout(Duration::from_secs(10), rounds)
        .await
        .is_err()
    {
        // Work still in flight keeps its leases: given back now, another node could
        // start the same round beside it. They lapse on their own.
        tracing::warn!("background work did not finish its round within 10 s; its leases lapse on their own");
    } else {
        match store.release_leases_of(&node).await {
            Ok(n) if n > 0 => tracing::info!(released = n, "leases given back for other nodes"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "giving back leases failed; they lapse on their own"),
        }
    }
    // Attempts refused from memory during the last minute (and the graceful shutdown).
    if let Err(e) = state.identity.audit_remembered_refusals().await {
        tracing::error!(error = %e, "auditing refused attempts failed");
    }
    if stopped_for_root.load(std::sync::atomic::Ordering::SeqCst) {
        // No checkpoint: the trail is the rotation's now.
        store.close().await;
        return Err(palisade_store::StoreError::RetiredRoot.into());
    }
    store.checkpoint_audit_head().await?;
    store.close().await;
    Ok(())
}

/// Ctrl-C, or SIGTERM: what systemd, container runtimes and `kill` send to stop a
/// service. Without a handler SIGTERM ended the process at once, mid-request.
async fn stop_requested() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM; stop with Ctrl-C");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

fn write_audit_public_key(settings: &Settings, opened: &app::Opened) -> Result<(), CliError> {
    if !settings.database_url.starts_with("sqlite:") {
        return Ok(());
    }
    let path = settings.data_dir.join("audit-signing.pub");
    let key = hex::encode(opened.keyring.audit_verifying_key().to_bytes());
    std::fs::write(&path, format!("{key}\n")).map_err(|e| CliError::Io(path.display().to_string(), e))
}

/// On a database without staff: the one-time link that makes whoever opens it the
/// first administrator, and its token to print for the person who started the server.
async fn first_run_link(store: &palisade_store::Store) -> Result<FirstRun, CliError> {
    let staff = store.list_users(UserKind::Staff, None, 1).await?;
    if !staff.items.is_empty() {
        return Ok((None, None));
    }
    let (link, token) =
        palisade_web::FirstRunLink::generate().map_err(|e| CliError::Config(e.to_string()))?;
    Ok((Some(Arc::new(link)), Some(token)))
}

type FirstRun = (
    Option<Arc<palisade_web::FirstRunLink>>,
    Option<palisade_crypto::RandomToken>,
);

/// Starts the inbound SMTP listener: STARTTLS with the server's certificate, then
/// the same reception as `palisade ingest`.
async fn start_smtp(
    settings: &Settings,
    listen: SocketAddr,
    setup: MailboxSetup,
    store: &palisade_store::Store,
    tls: &rustls::ServerConfig,
    metrics: Option<palisade_metrics::Metrics>,
    stopping: tokio::sync::watch::Receiver<bool>,
) -> Result<tokio::task::JoinHandle<()>, CliError> {
    let Some(smtp) = &settings.smtp else {
        return Ok(tokio::spawn(async {}));
    };
    let reception = reception(settings, smtp, &setup, store)?;
    let mut smtp_tls = tls.clone();
    smtp_tls.alpn_protocols.clear();
    let listener = palisade_mail::SmtpListener::new(
        palisade_mail::ListenerSettings {
            hostname: smtp.hostname.clone(),
            max_message_bytes: smtp.max_message_bytes,
            max_connections: smtp.max_connections,
            max_connections_per_ip: smtp.max_connections_per_ip,
            messages_per_minute_per_ip: smtp.messages_per_minute_per_ip,
            tls: Some(Arc::new(smtp_tls)),
            session: palisade_mail::SessionLimits::default(),
        },
        setup.threading,
        reception,
    )
    .with_shutdown(stopping);
    let listener = match metrics {
        Some(metrics) => listener.with_metrics(metrics),
        None => listener,
    };
    let socket = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| CliError::Io(format!("listening for SMTP on {listen}"), e))?;
    tracing::info!(%listen, "Palisade is receiving mail (SMTP)");
    Ok(tokio::spawn(listener.serve(socket)))
}

/// The SIEM exporter `[siem]` describes; the syslog hostname is the public origin's.
fn siem_exporter(
    siem: &crate::config::SiemSettings,
    public_origin: &str,
    store: &palisade_store::Store,
    node: &str,
) -> Result<palisade_siem::Exporter, CliError> {
    let hostname = public_origin
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split([':', '/']).next())
        .unwrap_or_default();
    let mut destinations = Vec::new();
    if let Some((address, server_name, ca_file)) = &siem.syslog {
        let tls =
            palisade_outbound::client_tls(ca_file.as_deref()).map_err(|e| CliError::Config(e.to_string()))?;
        destinations.push(palisade_siem::Destination::Syslog(
            palisade_siem::SyslogTls::new(address, server_name, tls, hostname)
                .map_err(|e| CliError::Config(e.to_string()))?,
        ));
        tracing::info!(%address, "exporting audit entries to syslog over TLS");
    }
    if let Some(path) = &siem.jsonl {
        destinations.push(palisade_siem::Destination::JsonLines(
            palisade_siem::JsonLines::new(path.clone()),
        ));
        tracing::info!(path = %path.display(), "exporting audit entries as JSON lines");
    }
    Ok(palisade_siem::Exporter::new(
        store.clone(),
        node,
        siem.actions.clone(),
        destinations,
    ))
}

/// Waits for every task (their results are logged where they run).
async fn futures_all(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for task in tasks {
        let _ = task.await;
    }
}
