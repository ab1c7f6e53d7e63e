//! The `casework` command: parse the command line, then hand over.

use std::{io::Read, process::ExitCode};

use clap::Parser;

use casework::{
    config::{Cli, Command, ConfigError, Secret, Settings, UserCommand},
    db,
    service::{Services, users},
    startup::{Application, shutdown_signal},
    telemetry,
};

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
        Command::Serve(args) => {
            telemetry::init(args.log_format);
            let (settings, generated_secret) = Settings::from_args(&cli.database, &args).map_err(explain)?;
            if generated_secret {
                tracing::warn!("CASEWORK_JWT_SECRET is not set: using a random secret; tokens die with this process");
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
            let password = match args.password {
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
            let user = users::NewUser::parse(&args.email, &args.name, args.role, team, password.expose(), None)?;
            let user = users::create_user_as_operator(&services, user).await?;
            println!("created {} ({}) with id {}", user.email, user.role, user.id);
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
