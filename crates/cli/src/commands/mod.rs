mod admin;
mod audit;
mod background;
mod backup;
mod dkim;
mod dns;
mod ingest;
mod keys;
mod mail_setup;
mod metrics;
mod scheduled_backups;
mod serve;
mod supply;

use crate::config::{
    AdminCommand, AdvisoriesCommand, AuditCommand, BackupCommand, Cli, Command, DkimCommand, DnsCommand,
    KeysCommand, Settings,
};
use crate::error::CliError;

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let serve_args = match &cli.command {
        Command::Serve(args) => Some(args),
        _ => None,
    };
    // Generating a key needs no configuration or database.
    if let Command::Dkim {
        command: DkimCommand::Generate {
            domain,
            selector,
            out,
        },
    } = &cli.command
    {
        return dkim::generate(domain, selector, out);
    }
    if let Command::Backup {
        command: BackupCommand::Keygen { out, x25519 },
    } = &cli.command
    {
        return backup::keygen(out, *x25519);
    }
    if let Command::Version { sbom } = &cli.command {
        return supply::version(*sbom);
    }
    if let Command::Advisories {
        command: AdvisoriesCommand::Check { db, no_record: true },
    } = &cli.command
    {
        return supply::check(db, None).await;
    }
    let settings = Settings::resolve(&cli.global, serve_args)?;
    init_tracing(settings.log_json);
    match cli.command {
        Command::Serve(_) => serve::run(&settings).await,
        Command::Admin {
            command:
                AdminCommand::Create {
                    email,
                    name,
                    public_origin,
                },
        } => admin::create(&settings, &email, &name, public_origin.as_deref()).await,
        Command::Audit {
            command: AuditCommand::Verify { public_key, expect },
        } => audit::verify(&settings, &public_key, &expect).await,
        Command::Audit {
            command: AuditCommand::Checkpoint,
        } => audit::checkpoint(&settings).await,
        Command::Dkim { .. }
        | Command::Version { .. }
        | Command::Backup {
            command: BackupCommand::Keygen { .. },
        } => Ok(()),
        Command::Advisories {
            command: AdvisoriesCommand::Check { db, .. },
        } => supply::check(&db, Some(&settings)).await,
        Command::Ingest(args) => ingest::run(&settings, &args).await,
        Command::Dns {
            command: DnsCommand::Check(args),
        } => dns::check(&settings, &args).await,
        Command::Backup {
            command: BackupCommand::Create { to, recipient },
        } => backup::create(&settings, &to, &recipient).await,
        Command::Backup {
            command:
                BackupCommand::Verify {
                    file,
                    identity,
                    scratch,
                    scratch_url,
                },
        } => backup::verify(&settings, &file, &identity, scratch, scratch_url).await,
        Command::Restore(args) => backup::restore(&settings, &args.file, &args.identity).await,
        Command::Keys {
            command:
                KeysCommand::RotateMaster {
                    new_key_file,
                    to_hsm,
                    settle_seconds,
                },
        } => keys::rotate_master(&settings, new_key_file.as_deref(), to_hsm, settle_seconds).await,
        Command::Keys {
            command:
                KeysCommand::RotateRoot {
                    new_key_file,
                    settle_seconds,
                    old_reply_addresses_days,
                    revoke_recovery_codes,
                    abort,
                },
        } => match new_key_file {
            Some(file) if !abort => {
                let options = keys::RootRotationOptions {
                    settle_seconds,
                    old_reply_addresses_days,
                    revoke_recovery_codes,
                };
                keys::rotate_root(&settings, &file, &options).await
            }
            _ => keys::abort_root_rotation(&settings).await,
        },
        Command::Keys {
            command: KeysCommand::HsmGenerate,
        } => keys::hsm_generate(&settings),
        Command::Keys {
            command: KeysCommand::AuditGenerate { out },
        } => keys::audit_generate(&settings, &out),
    }
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PALISADE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
