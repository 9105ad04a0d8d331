//! Dispatch of the command line, and the operator's account commands.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context, bail};
use app::accounts::ssr::hash_password;
use app::storage::Db;
use app::storage::accounts::{self as store, AccountsError, Creation};
use app::time::now_ms;
use clap::{CommandFactory, FromArgMatches};
use tracing_subscriber::EnvFilter;

use crate::config::{Cli, Command, StorageOptions, TokenCommand, UserCommand};

pub fn main() -> ExitCode {
    let matches = Cli::command().get_matches();
    let port_from_env =
        matches.value_source("port") == Some(clap::parser::ValueSource::EnvVariable);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => error.exit(),
    };
    // Operator commands print their result on stdout (a new token, for
    // scripts to capture), so their log lines go to stderr.
    let operator_command =
        matches!(cli.command, Some(Command::User { .. } | Command::Token { .. }));
    // Benchmarks print their figures on standard output; the worker's
    // per-check and per-reaction lines would drown them.
    let quiet_by_default = matches!(cli.command, Some(Command::Bench { .. }))
        && matches.value_source("log") == Some(clap::parser::ValueSource::DefaultValue);
    init_logging(if quiet_by_default { "warn" } else { &cli.storage.log }, operator_command);

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    let result = runtime.block_on(async move {
        match cli.command {
            None | Some(Command::Serve) => {
                crate::serve::run(&cli.storage, &cli.serve, &cli.heroku, &cli.notify, port_from_env)
                    .await
            }
            Some(Command::Sandbox) => run_sandbox(&cli.serve, port_from_env).await,
            Some(Command::User { command }) => user_command(&cli.storage, command).await,
            Some(Command::Token { command }) => token_command(&cli.storage, command).await,
            Some(Command::Bench { which }) => crate::bench::run(which).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str, to_stderr: bool) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|error| {
        eprintln!("warning: log filter {filter:?} is invalid ({error}); using \"info\"");
        EnvFilter::new("info")
    });
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    if to_stderr {
        logs.with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal()).init();
    } else {
        logs.with_ansi(std::io::stdout().is_terminal()).init();
    }
}

/// Connects to the configured database and applies pending migrations.
pub async fn open_database(storage: &StorageOptions) -> anyhow::Result<Db> {
    let url = storage.database_url()?;
    let db = Db::connect(&url, storage.database_connections)
        .await
        .context("cannot connect to the database (check DATABASE_URL)")?;
    let report = db.migrate().await.context("database migration failed")?;
    tracing::info!(
        database.kind = db.kind(),
        migrations.applied_now = report.applied_now,
        migrations.total = report.total,
        "database ready"
    );
    Ok(db)
}

/// Serves only the sandbox until SIGTERM or Ctrl-C.
async fn run_sandbox(
    serve: &crate::config::ServeOptions,
    port_from_env: bool,
) -> anyhow::Result<()> {
    let shutdown = tokio_util::sync::CancellationToken::new();
    crate::serve::cancel_on_signal(shutdown.clone())?;
    let address = serve.bind_address(port_from_env);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))?;
    let server = crate::sandbox::SandboxServer::serve(
        listener,
        crate::sandbox::Sandbox::new(crate::sandbox::SandboxOptions::default()),
    );
    tracing::info!(url = %server.url, "Heroku sandbox listening");
    shutdown.cancelled().await;
    server.stop().await;
    tracing::info!("sandbox stopped");
    Ok(())
}

async fn user_command(storage: &StorageOptions, command: UserCommand) -> anyhow::Result<()> {
    let db = open_database(storage).await?;
    let result = match command {
        UserCommand::ResetPassword { email } => reset_password(&db, &email).await,
        UserCommand::Create { email, team } => create_user(&db, &email, &team).await,
    };
    db.close().await;
    result
}

async fn reset_password(db: &Db, email: &str) -> anyhow::Result<()> {
    let email = app::accounts::validate::email(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let Some(user) = store::find_user_by_email(db, &email).await? else {
        bail!("no account with email {email}");
    };
    let password = read_new_password()?;
    let hash = hash_password(password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    store::set_password(db, user.id, &hash).await?;
    store::clear_login_failures(db, &format!("account:{email}")).await?;
    println!("Password for {email} updated; its sessions are signed out.");
    Ok(())
}

async fn create_user(db: &Db, email: &str, team: &str) -> anyhow::Result<()> {
    let email = app::accounts::validate::email(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    let team = app::accounts::validate::team_name(team).map_err(|e| anyhow::anyhow!("{e}"))?;
    let password = read_new_password()?;
    let hash = hash_password(password).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    match store::create_account_with_team(db, &email, &hash, &team, now_ms(), Creation::Any).await {
        Ok(account) => {
            println!(
                "Created {email} (user {}) as owner of team {team:?} (team {}).",
                account.user_id, account.team_id
            );
            Ok(())
        }
        Err(AccountsError::EmailTaken) => bail!("an account with email {email} already exists"),
        Err(error) => Err(error.into()),
    }
}

async fn token_command(storage: &StorageOptions, command: TokenCommand) -> anyhow::Result<()> {
    let db = open_database(storage).await?;
    let result = match command {
        TokenCommand::Create { team, role, name, expires_in_days } => {
            create_token(&db, &team, &role, &name, expires_in_days).await
        }
    };
    db.close().await;
    result
}

async fn create_token(
    db: &Db,
    team: &str,
    role: &str,
    name: &str,
    expires_in_days: Option<u32>,
) -> anyhow::Result<()> {
    use app::api::ssr::tokens;
    let teams = store::find_teams(db, team).await?;
    let team = match teams.as_slice() {
        [team] => team,
        [] => bail!("no team has the id or name {team:?}"),
        several => {
            let ids: Vec<String> = several.iter().map(|team| team.id.to_string()).collect();
            bail!("several teams are named {team:?} (ids {}); pass the id instead", ids.join(", "))
        }
    };
    let name = tokens::validate_name(name).map_err(|e| anyhow::anyhow!("{e}"))?;
    let role = tokens::parse_role(role).map_err(|e| anyhow::anyhow!("{e}"))?;
    let days = match expires_in_days {
        Some(days) => {
            tokens::parse_expiry_days(&days.to_string()).map_err(|e| anyhow::anyhow!("{e}"))?
        }
        None => None,
    };
    let token = tokens::issue(db, team.id, &name, role, None, days)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    eprintln!(
        "Created API token {name:?} ({}) for team {:?} (team {}); it is shown only now:",
        role.as_str(),
        team.name,
        team.id
    );
    println!("{}", token.token);
    Ok(())
}

/// Reads a password: prompted twice on a terminal, else one line of stdin.
fn read_new_password() -> anyhow::Result<String> {
    let password = if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("New password: ")?;
        let second = rpassword::prompt_password("Repeat it: ")?;
        if first != second {
            bail!("the two passwords differ; nothing was changed");
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        line.trim_end_matches(['\r', '\n']).to_string()
    };
    app::accounts::validate::password("password", &password).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(password)
}
