//! The `casework` command: parse the command line, then hand over.

use std::{io::Read, process::ExitCode};

use anyhow::Context;
use clap::Parser;

use casework::{
    config::{self, AuditCommand, Cli, Command, ConfigError, ReportFormat, Secret, Settings, UserCommand},
    db,
    service::{Services, users},
    startup::{Application, shutdown_signal},
    telemetry,
};

/// mimalloc returns freed memory to the system, where glibc's per-thread arenas
/// kept the 19 MiB of every argon2 hash resident.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("casework: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(mut args) => {
            telemetry::init(args.log_format);
            args.read_secrets().map_err(explain)?;
            let (settings, generated_secret) = Settings::from_args(&cli.database, &args).map_err(explain)?;
            if generated_secret {
                tracing::warn!("CASEWORK_JWT_SECRET is not set: using a random secret; tokens die with this process");
            }
            if settings.audit_signing_key_generated {
                tracing::warn!(
                    public_key = %settings.audit_public_key,
                    "CASEWORK_AUDIT_SIGNING_KEY is not set: audit checkpoints are signed with a random key that dies with this process"
                );
            }
            tracing::info!(public_key = %settings.audit_signing_key.public_key_hex(), "audit checkpoints are signed with this Ed25519 key");
            if settings.audit_anchor_dir.is_none() {
                tracing::warn!("CASEWORK_AUDIT_ANCHOR_DIR is not set: checkpoints are not copied outside the database");
            }
            let demo = settings.demo;
            let password = settings.demo_password.clone();
            let app = Application::build(settings).await?;
            tracing::info!(port = app.port(), database = %db::redact(&cli.database.database_url), "casework listening");
            if demo {
                print_demo_accounts(app.port(), &password);
            }
            app.run_until_stopped(shutdown_signal()).await
        }
        Command::Migrate => {
            let db = db::connect(&cli.database.database_url, 1, &Default::default()).await?;
            db::migrate(&db).await?;
            println!("migrations applied to {}", db::redact(&cli.database.database_url));
            Ok(())
        }
        Command::Schema => {
            print!("{}", casework::graphql::sdl());
            Ok(())
        }
        Command::User(UserCommand::Add(args)) => {
            let settings = Settings::for_database(&cli.database.database_url);
            let db = db::connect(&settings.database_url, 2, &Default::default()).await?;
            db::migrate(&db).await?;
            let services = Services::new(db, std::sync::Arc::new(settings))?;
            let password = match config::secret_from_env("CASEWORK_PASSWORD").map_err(explain)? {
                Some(password) => password,
                None => {
                    let mut line = String::new();
                    std::io::stdin().read_to_string(&mut line)?;
                    Secret::new(line.trim_end_matches(['\r', '\n']))
                }
            };
            let team = match &args.team {
                Some(name) => Some(
                    users::team_by_name(&services, name)
                        .await?
                        .ok_or_else(|| anyhow::anyhow!("no team named {name:?}"))?
                        .id,
                ),
                None => None,
            };
            let user = users::NewUser::parse(&args.email, &args.name, args.role, team, Some(password.expose()), None)?;
            let user = users::create_user_as_operator(&services, user).await?;
            println!("created {} ({}) with id {}", user.email, user.role, user.id);
            Ok(())
        }
        Command::Audit(command) => audit(&cli.database.database_url, command).await,
        Command::Report(args) => {
            let db = db::connect(&cli.database.database_url, 2, &Default::default()).await?;
            let report = casework::service::report::build(&db, args.timezone, &args.month).await?;
            let text = match args.format {
                ReportFormat::Md => report.to_markdown(),
                ReportFormat::Csv => report.to_csv(),
                ReportFormat::Json => report.to_json() + "\n",
            };
            print!("{text}");
            Ok(())
        }
    }
}

async fn audit(database_url: &str, command: AuditCommand) -> anyhow::Result<()> {
    use casework::audit::{checkpoint, export, verify};
    match command {
        AuditCommand::Verify(args) => {
            let complaint = match &args.complaint {
                Some(text) => Some(match casework::ids::parse(text) {
                    Some((casework::ids::Kind::Complaint, id)) => id,
                    _ => uuid::Uuid::parse_str(text).map_err(|_| anyhow::anyhow!("--complaint: not a complaint ID"))?,
                }),
                None => None,
            };
            let mut trusted_keys = match &args.trusted_keys {
                Some(text) => checkpoint::parse_trusted_keys(text).map_err(|e| anyhow::anyhow!("CASEWORK_AUDIT_TRUSTED_KEYS: {e}"))?,
                None => Vec::new(),
            };
            if let Some(key) = &args.public_key {
                let key = checkpoint::parse_public_key(key).map_err(|e| anyhow::anyhow!("--public-key: {e}"))?;
                trusted_keys.push(checkpoint::TrustedKey::always(key));
            }
            let mac_key = match (&args.mac_key, &args.signing_key) {
                (Some(key), _) => Some(casework::audit::MacKey::parse(key.expose()).map_err(|e| anyhow::anyhow!("CASEWORK_AUDIT_MAC_KEY {e}"))?),
                (None, Some(seed)) => Some(
                    checkpoint::SigningSeed::parse(seed.expose())
                        .map_err(|e| anyhow::anyhow!("CASEWORK_AUDIT_SIGNING_KEY {e}"))?
                        .derive_mac_key(),
                ),
                (None, None) => None,
            };
            let anchor = args.anchor_dir.as_deref().map(checkpoint::read_anchor).transpose()?;
            let options =
                verify::Options { complaint, trusted_keys, allow_unpinned: args.allow_unpinned, anchor, mac_key };
            let started = std::time::Instant::now();
            let report = match &args.file {
                Some(file) => {
                    let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
                    verify::verify_export(&text, &options)?
                }
                None => {
                    let db = db::connect(database_url, 2, &Default::default()).await?;
                    verify::verify_database(&db, &options).await?
                }
            };
            let elapsed = started.elapsed().as_secs_f64();
            for warning in &report.warnings {
                eprintln!("warning: {warning}");
            }
            match &report.first_failure {
                None => {
                    println!(
                        "audit trail OK: {} events in {} chains, {} checkpoints, {:.2} s ({:.0} events/s)",
                        report.checked_events,
                        report.checked_chains,
                        report.checkpoints_checked,
                        elapsed,
                        report.checked_events as f64 / elapsed.max(1e-9)
                    );
                    Ok(())
                }
                Some(failure) => anyhow::bail!("audit verification FAILED at {failure}"),
            }
        }
        AuditCommand::Export(args) => {
            let db = db::connect(database_url, 2, &Default::default()).await?;
            let file = std::fs::File::create(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let count = export::export(&db, &mut out).await?;
            std::io::Write::flush(&mut out)?;
            println!("exported {count} events to {}", args.out.display());
            Ok(())
        }
        AuditCommand::Checkpoint(args) => {
            let key = config::secret_from_env("CASEWORK_AUDIT_SIGNING_KEY")
                .map_err(explain)?
                .ok_or_else(|| anyhow::anyhow!("set CASEWORK_AUDIT_SIGNING_KEY (or CASEWORK_AUDIT_SIGNING_KEY_FILE)"))?;
            let seed = checkpoint::SigningSeed::parse(key.expose())
                .map_err(|e| anyhow::anyhow!("CASEWORK_AUDIT_SIGNING_KEY {e}"))?;
            let db = db::connect(database_url, 2, &Default::default()).await?;
            db::migrate(&db).await?;
            let mut writer = checkpoint::CheckpointWriter::new(seed, args.anchor_dir);
            if let Some(key) = &args.mac_key {
                writer.mac_key = casework::audit::MacKey::parse(key.expose()).map_err(|e| anyhow::anyhow!("CASEWORK_AUDIT_MAC_KEY {e}"))?;
            }
            match checkpoint::create(&db, &writer, args.force).await? {
                Some(cp) => println!(
                    "checkpoint {} over {} chains ({} events), root {}, signed by {}",
                    cp.seq, cp.chain_count, cp.event_count, cp.merkle_root, cp.public_key
                ),
                None => println!("no checkpoint written: nothing changed since the last one"),
            }
            Ok(())
        }
    }
}

fn explain(error: ConfigError) -> anyhow::Error {
    anyhow::anyhow!("invalid configuration: {error}")
}

fn print_demo_accounts(port: u16, password: &Secret) {
    println!("\ncasework demo — GraphiQL at http://127.0.0.1:{port}/graphql");
    println!("demo accounts (password: {}):", password.expose());
    for (email, name, role, team) in casework::service::demo::ACCOUNTS {
        println!("  {email:<24} {:<10} {name}{}", role.as_str(), team.map(|t| format!(", {t}")).unwrap_or_default());
    }
    println!();
}
