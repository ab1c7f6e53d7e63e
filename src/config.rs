//! Typed configuration, parsed once at start from flags and the environment.
//! The library never reads environment variables itself: everything it needs
//! arrives in [`Settings`].

use std::{fmt, net::SocketAddr, path::PathBuf, str::FromStr, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};
use rust_decimal::Decimal;

use crate::{audit::checkpoint::SigningSeed, domain::Role};

/// casework: customer-complaint case management over GraphQL.
#[derive(Parser, Debug)]
#[command(name = "casework", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the HTTP server (migrates the database first).
    Serve(Box<ServeArgs>),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL) to stdout.
    Schema,
    /// Manage users from the command line.
    #[command(subcommand)]
    User(UserCommand),
    /// Verify, export and checkpoint the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Print a month's complaint report (totals, breakdowns, top root causes, change).
    Report(ReportArgs),
}

/// `casework report --month 2026-10 --format md --timezone Asia/Shanghai`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// The month, `YYYY-MM`, in `--timezone`.
    #[arg(long)]
    pub month: String,
    /// `md` (Markdown tables), `csv` or `json`.
    #[arg(long, value_enum, default_value = "md")]
    pub format: ReportFormat,
    /// IANA time zone of the month's boundaries.
    #[arg(long, env = "CASEWORK_REPORT_TIMEZONE", default_value = "UTC", value_parser = parse_timezone)]
    pub timezone: chrono_tz::Tz,
}

/// How `casework report` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Md,
    Csv,
    Json,
}

/// An IANA time-zone name such as `Asia/Shanghai`.
pub fn parse_timezone(value: &str) -> Result<chrono_tz::Tz, String> {
    value.trim().parse::<chrono_tz::Tz>().map_err(|_| format!("{value:?} is not an IANA time zone (e.g. Asia/Shanghai)"))
}

#[derive(Subcommand, Debug)]
pub enum AuditCommand {
    /// Recompute every hash chain and checkpoint; exit non-zero naming the first failure.
    Verify(AuditVerifyArgs),
    /// Write the trail (events, checkpoints, complaint versions) as JSON Lines.
    Export(AuditExportArgs),
    /// Write a signed checkpoint now (the server also writes them on its own).
    Checkpoint(AuditCheckpointArgs),
}

#[derive(Args, Debug)]
pub struct AuditVerifyArgs {
    /// Only the chains of this complaint (its global ID or UUID).
    #[arg(long)]
    pub complaint: Option<String>,
    /// The Ed25519 public key (hex) every checkpoint must be signed with.
    #[arg(long, env = "CASEWORK_AUDIT_PUBLIC_KEY")]
    pub public_key: Option<String>,
    /// Verify an export file offline instead of the database.
    #[arg(long)]
    pub file: Option<PathBuf>,
    /// The anchor directory whose checkpoints the database must still hold.
    #[arg(long, env = "CASEWORK_AUDIT_ANCHOR_DIR")]
    pub anchor_dir: Option<PathBuf>,
    /// Trusted checkpoint keys with validity periods: `HEX[@FROM..UNTIL]`, comma-separated (RFC 3339 times, either may be empty).
    #[arg(long, env = "CASEWORK_AUDIT_TRUSTED_KEYS")]
    pub trusted_keys: Option<String>,
    /// Accept checkpoints signed by whatever key they name (no pinned key): a warning instead of a failure.
    #[arg(long)]
    pub allow_unpinned: bool,
    /// Key (hex, at least 32 bytes) of the events' HMAC; checked when given.
    #[arg(long, env = "CASEWORK_AUDIT_MAC_KEY", hide_env_values = true)]
    pub mac_key: Option<Secret>,
    /// Without a MAC key, the signing seed it is derived from.
    #[arg(long, env = "CASEWORK_AUDIT_SIGNING_KEY", hide_env_values = true)]
    pub signing_key: Option<Secret>,
}

#[derive(Args, Debug)]
pub struct AuditExportArgs {
    /// The JSON Lines file to write.
    #[arg(long)]
    pub out: PathBuf,
}

#[derive(Args, Debug)]
pub struct AuditCheckpointArgs {
    /// Ed25519 signing seed, 64 hex digits: only from `CASEWORK_AUDIT_SIGNING_KEY`
    /// or `CASEWORK_AUDIT_SIGNING_KEY_FILE` (secrets are never flags).
    #[arg(skip)]
    pub signing_key: Option<Secret>,
    /// Directory of the anchor file (`checkpoints.jsonl`).
    #[arg(long, env = "CASEWORK_AUDIT_ANCHOR_DIR")]
    pub anchor_dir: Option<PathBuf>,
    /// Write one even when nothing changed since the last.
    #[arg(long)]
    pub force: bool,
    /// Key (hex) of the events' HMAC, when not derived from the signing key.
    #[arg(long, env = "CASEWORK_AUDIT_MAC_KEY", hide_env_values = true)]
    pub mac_key: Option<Secret>,
}

#[derive(Subcommand, Debug)]
pub enum UserCommand {
    /// Create a user. The password comes from --password, CASEWORK_PASSWORD or stdin.
    Add(UserAddArgs),
}

#[derive(Args, Debug)]
pub struct UserAddArgs {
    #[arg(long)]
    pub email: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    #[arg(long, value_parser = parse_role)]
    pub role: Role,
    /// Team name (must exist).
    #[arg(long)]
    pub team: Option<String>,
    /// Only from `CASEWORK_PASSWORD` / `CASEWORK_PASSWORD_FILE` or standard input
    /// (secrets are never flags).
    #[arg(skip)]
    pub password: Option<Secret>,
}

fn parse_role(value: &str) -> Result<Role, String> {
    value
        .to_ascii_uppercase()
        .parse()
        .map_err(|_| format!("unknown role {value:?}; one of AGENT, SUPERVISOR, LEGAL, AUDITOR, ADMIN"))
}

#[derive(Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// Database URL: `sqlite://casework.db?mode=rwc` (default) or `postgres://…`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://casework.db?mode=rwc", global = true)]
    pub database_url: String,
    /// Maximum pooled database connections.
    #[arg(long, env = "CASEWORK_DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub db_max_connections: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Options of `casework serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// The closed loop's timings (issue 12).
    #[command(flatten)]
    pub closed_loop: LoopSettings,
    /// Address to listen on.
    #[arg(long, env = "CASEWORK_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// `production` turns on hardening: no GraphiQL, no introspection, no demo, a required JWT secret.
    /// Unset means development, which is refused on a non-loopback listen address.
    #[arg(long, env = "CASEWORK_ENV", value_enum)]
    pub env: Option<Environment>,
    /// HMAC secret for access tokens (at least 32 bytes). Required in production.
    /// Only from `CASEWORK_JWT_SECRET` or `CASEWORK_JWT_SECRET_FILE`.
    #[arg(skip)]
    pub jwt_secret: Option<Secret>,
    /// Lifetime of an access token, in seconds.
    #[arg(long, env = "CASEWORK_ACCESS_TOKEN_TTL_SECS", default_value_t = 900)]
    pub access_token_ttl_secs: u64,
    /// How long a server reuses a verified caller (role, team, session) on
    /// PostgreSQL without reading it again; any change to the user or their
    /// sessions evicts it at once on every server (`LISTEN`). 0 turns it off.
    #[arg(long, env = "CASEWORK_AUTH_CACHE_SECS", default_value_t = 2)]
    pub auth_cache_secs: u64,
    /// Lifetime of a refresh token, in seconds.
    #[arg(long, env = "CASEWORK_REFRESH_TOKEN_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl_secs: u64,
    /// Seed demo teams, users and complaints on an empty database.
    #[arg(long, env = "CASEWORK_DEMO")]
    pub demo: bool,
    /// Password of every demo account: `CASEWORK_DEMO_PASSWORD` (or `…_FILE`),
    /// default `casework-demo`.
    #[arg(skip = Secret::new("casework-demo"))]
    pub demo_password: Secret,
    /// Where evidence files are stored.
    #[arg(long, env = "CASEWORK_EVIDENCE_DIR", default_value = "./evidence")]
    pub evidence_dir: PathBuf,
    /// Store evidence in an S3-compatible bucket instead: `s3://bucket/prefix`
    /// (credentials, region and endpoint from the usual `AWS_*` variables).
    #[arg(long, env = "CASEWORK_EVIDENCE_URL")]
    pub evidence_url: Option<String>,
    /// Largest accepted evidence file, in bytes (multipart uploads).
    #[arg(long, env = "CASEWORK_MAX_UPLOAD_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub max_upload_bytes: u64,
    /// Seconds an upload (a multipart request) may take.
    #[arg(long, env = "CASEWORK_UPLOAD_TIMEOUT_SECS", default_value_t = 3600)]
    pub upload_timeout_secs: u64,
    /// Seconds between SLA scans.
    #[arg(long, env = "CASEWORK_SLA_SCAN_INTERVAL_SECS", default_value_t = 30)]
    pub sla_scan_interval_secs: u64,
    /// Largest accepted JSON request body, in bytes.
    #[arg(long, env = "CASEWORK_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Seconds before a request is abandoned.
    #[arg(long, env = "CASEWORK_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Origins allowed by CORS, comma-separated (`*` for any). Empty: same-origin only.
    #[arg(long, env = "CASEWORK_CORS_ORIGINS", value_delimiter = ',', default_value = "")]
    pub cors_origins: Vec<String>,
    /// Currency of amounts given without one (ISO 4217).
    #[arg(long, env = "CASEWORK_DEFAULT_CURRENCY", default_value = "CNY")]
    pub default_currency: String,
    /// Compensation an agent may grant without approval.
    #[arg(long, env = "CASEWORK_AGENT_AUTHORITY_LIMIT", default_value = "500")]
    pub agent_authority_limit: Decimal,
    /// Compensation a supervisor may grant without approval.
    #[arg(long, env = "CASEWORK_SUPERVISOR_AUTHORITY_LIMIT", default_value = "5000")]
    pub supervisor_authority_limit: Decimal,
    /// Deepest query nesting accepted.
    #[arg(long, env = "CASEWORK_MAX_QUERY_DEPTH", default_value_t = 15)]
    pub max_query_depth: usize,
    /// Highest query complexity accepted (one per field, times page sizes).
    #[arg(long, env = "CASEWORK_MAX_QUERY_COMPLEXITY", default_value_t = 5000)]
    pub max_query_complexity: usize,
    /// Failed sign-ins per email per minute before `RATE_LIMITED`.
    #[arg(long, env = "CASEWORK_LOGIN_ATTEMPTS_PER_MINUTE", default_value_t = 10)]
    pub login_attempts_per_minute: u32,
    /// `text` or `json` logs.
    #[arg(long, env = "CASEWORK_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Ed25519 seed (64 hex digits) that signs audit checkpoints. Required in
    /// production; otherwise a random one with a warning. Only from
    /// `CASEWORK_AUDIT_SIGNING_KEY` or `CASEWORK_AUDIT_SIGNING_KEY_FILE`.
    #[arg(skip)]
    pub audit_signing_key: Option<Secret>,
    /// The public key (hex) `verifyAuditTrail` pins; default: the signing key's.
    #[arg(long, env = "CASEWORK_AUDIT_PUBLIC_KEY")]
    pub audit_public_key: Option<String>,
    /// Directory outside the database where every checkpoint is also appended
    /// (`checkpoints.jsonl`); catches a rolled-back checkpoint table.
    #[arg(long, env = "CASEWORK_AUDIT_ANCHOR_DIR")]
    pub audit_anchor_dir: Option<PathBuf>,
    /// Key (hex, at least 32 bytes) of the HMAC every audit event carries.
    /// Default: derived from the signing key. Keep it outside the database.
    #[arg(long, env = "CASEWORK_AUDIT_MAC_KEY", hide_env_values = true)]
    pub audit_mac_key: Option<Secret>,
    /// Trusted checkpoint keys with validity periods (`HEX[@FROM..UNTIL]`,
    /// comma-separated), for verification across a key rotation.
    #[arg(long, env = "CASEWORK_AUDIT_TRUSTED_KEYS")]
    pub audit_trusted_keys: Option<String>,
    /// Start in production even when the database role owns the audit tables
    /// or may UPDATE/DELETE/TRUNCATE them (otherwise refused).
    #[arg(long, env = "CASEWORK_AUDIT_ALLOW_PRIVILEGED_ROLE")]
    pub audit_allow_privileged_role: bool,
    /// Apply pending migrations on start. Set `false` when the server runs as a
    /// runtime role that may not change the schema (run `casework migrate` as
    /// the owner first); the server then refuses to start on a stale schema.
    #[arg(long, env = "CASEWORK_MIGRATE_ON_START", default_value_t = true, action = clap::ArgAction::Set)]
    pub migrate_on_start: bool,
    /// Seconds between audit checkpoints at most (0: no checkpoint job).
    #[arg(long, env = "CASEWORK_AUDIT_CHECKPOINT_INTERVAL_SECS", default_value_t = 300)]
    pub audit_checkpoint_interval_secs: u64,
    /// Seconds between checks for a due checkpoint (a legal-hold change is
    /// checkpointed within this delay).
    #[arg(long, env = "CASEWORK_AUDIT_CHECKPOINT_POLL_SECS", default_value_t = 20)]
    pub audit_checkpoint_poll_secs: u64,
    /// IANA time zone of the MONTH, WEEK and DAY buckets of `complaintStats`.
    #[arg(long, env = "CASEWORK_REPORT_TIMEZONE", default_value = "UTC", value_parser = parse_timezone)]
    pub report_timezone: chrono_tz::Tz,
    /// Longest range `complaintStats` and `repeatComplaints` accept, in days.
    #[arg(long, env = "CASEWORK_STATS_MAX_DAYS", default_value_t = 400)]
    pub stats_max_days: u32,
    #[command(flatten)]
    pub edge: EdgeArgs,
    #[command(flatten)]
    pub sessions: SessionArgs,
}

/// Limits of sessions, sign-in and WebSocket subscriptions (README "Security").
#[derive(Args, Debug, Clone)]
pub struct SessionArgs {
    /// Absolute lifetime of a sign-in (a refresh-token family), in seconds; rotation never extends it.
    #[arg(long, env = "CASEWORK_SESSION_MAX_SECS", default_value_t = 7 * 24 * 3600)]
    pub session_max_secs: u64,
    /// Seconds after a refresh during which presenting the old token again returns the same new
    /// tokens (a retry of an answer lost on the network) instead of counting as reuse.
    #[arg(long, env = "CASEWORK_REFRESH_RETRY_SECS", default_value_t = 10)]
    pub refresh_retry_secs: u64,
    /// Lifetime of a one-time password-reset token (`issuePasswordReset`), in seconds.
    #[arg(long, env = "CASEWORK_RESET_TOKEN_TTL_SECS", default_value_t = 3600)]
    pub reset_token_ttl_secs: u64,
    /// Seconds a WebSocket may stay open without a `connection_init` (then closed with 4408).
    #[arg(long, env = "CASEWORK_WS_INIT_TIMEOUT_SECS", default_value_t = 10)]
    pub ws_init_timeout_secs: u64,
    /// Concurrent subscriptions on one WebSocket.
    #[arg(long, env = "CASEWORK_WS_MAX_SUBSCRIPTIONS", default_value_t = 20)]
    pub ws_max_subscriptions: usize,
    /// Concurrent subscriptions of one user over all their WebSockets (per instance).
    #[arg(long, env = "CASEWORK_WS_MAX_SUBSCRIPTIONS_PER_USER", default_value_t = 50)]
    pub ws_max_subscriptions_per_user: usize,
    /// Failed sign-ins per client address per minute before `RATE_LIMITED`.
    #[arg(long, env = "CASEWORK_LOGIN_ATTEMPTS_PER_ADDRESS_PER_MINUTE", default_value_t = 100)]
    pub login_attempts_per_address_per_minute: u32,
    /// Password hashes computed at once (each takes ~19 MiB); default: the number of cores.
    #[arg(long, env = "CASEWORK_PASSWORD_HASH_CONCURRENCY")]
    pub password_hash_concurrency: Option<usize>,
    /// Milliseconds a sign-in waits for a hashing slot before `RATE_LIMITED`.
    #[arg(long, env = "CASEWORK_PASSWORD_HASH_WAIT_MS", default_value_t = 2000)]
    pub password_hash_wait_ms: u64,
    /// Currency of authority limits (ISO 4217); default: CASEWORK_DEFAULT_CURRENCY.
    #[arg(long, env = "CASEWORK_AUTHORITY_CURRENCY")]
    pub authority_currency: Option<String>,
    /// Conversion into the authority currency, `GBP=9.12,USD=7.10` (units per unit of
    /// the named currency). A compensation in a currency without a rate needs approval.
    #[arg(long, env = "CASEWORK_FX_RATES", value_delimiter = ',', default_value = "")]
    pub fx_rates: Vec<String>,
}

/// Limits of the HTTP edge, the database session and evidence uploads (issue 11).
#[derive(Args, Debug, Clone)]
pub struct EdgeArgs {
    /// Proxies whose `X-Forwarded-For` is believed: addresses and CIDR networks,
    /// comma-separated. Empty: the TCP peer is the client.
    #[arg(long, env = "CASEWORK_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Serve `/metrics` on this separate address instead of the API's.
    #[arg(long, env = "CASEWORK_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Bearer token `/metrics` on the API address requires: only from
    /// `CASEWORK_METRICS_TOKEN` or `CASEWORK_METRICS_TOKEN_FILE`.
    #[arg(skip)]
    pub metrics_token: Option<Secret>,
    /// PostgreSQL `statement_timeout`, in seconds (0: none).
    #[arg(long, env = "CASEWORK_DB_STATEMENT_TIMEOUT_SECS", default_value_t = 10)]
    pub db_statement_timeout_secs: u64,
    /// PostgreSQL `idle_in_transaction_session_timeout`, in seconds (0: none).
    #[arg(long, env = "CASEWORK_DB_IDLE_IN_TRANSACTION_TIMEOUT_SECS", default_value_t = 30)]
    pub db_idle_in_transaction_timeout_secs: u64,
    /// Complaints one user may create per minute (0: no limit).
    #[arg(long, env = "CASEWORK_CREATIONS_PER_MINUTE", default_value_t = 120)]
    pub creations_per_minute: u32,
    /// `linkComplaints` calls one user may make per minute (0: no limit).
    #[arg(long, env = "CASEWORK_LINKS_PER_MINUTE", default_value_t = 60)]
    pub links_per_minute: u32,
    /// Accept archives (zip, rar, 7z, tar, gz, …) and macro-enabled office files as evidence.
    #[arg(long, env = "CASEWORK_EVIDENCE_ALLOW_ARCHIVES")]
    pub evidence_allow_archives: bool,
    /// A ClamAV `clamd` socket (`/run/clamav/clamd.ctl` or `host:port`) every
    /// upload is scanned with before it is kept.
    #[arg(long, env = "CASEWORK_CLAMD")]
    pub clamd: Option<String>,
    /// Seconds a blob's whole-file SHA-256 check stays valid for downloads.
    #[arg(long, env = "CASEWORK_EVIDENCE_VERIFY_PERIOD_SECS", default_value_t = 24 * 3600)]
    pub evidence_verify_period_secs: u64,
    /// Uploads one user may run at once.
    #[arg(long, env = "CASEWORK_UPLOADS_PER_USER", default_value_t = 2)]
    pub uploads_per_user: u32,
    /// Bytes of evidence one user may upload per day (0: no quota).
    #[arg(long, env = "CASEWORK_UPLOAD_QUOTA_BYTES_PER_DAY", default_value_t = 0)]
    pub upload_quota_bytes_per_day: u64,
    /// Add `extensions.analyzer { complexity depth }` to every GraphQL response.
    #[arg(long, env = "CASEWORK_REPORT_QUERY_COST")]
    pub report_query_cost: bool,
    /// Seconds between runs of the evidence blob garbage collector (0: never).
    #[arg(long, env = "CASEWORK_EVIDENCE_GC_INTERVAL_SECS", default_value_t = 3600)]
    pub evidence_gc_interval_secs: u64,
    /// Seconds a blob stays unreferenced before the collector removes it.
    #[arg(long, env = "CASEWORK_EVIDENCE_GC_GRACE_SECS", default_value_t = 24 * 3600)]
    pub evidence_gc_grace_secs: u64,
}

/// A secret from the environment: `NAME`, or the contents of the file named by
/// `NAME_FILE` (trailing newline removed). Never from a command-line flag.
pub fn secret_from_env(name: &str) -> Result<Option<Secret>, ConfigError> {
    if let Ok(value) = std::env::var(name) {
        return Ok(Some(Secret(value)));
    }
    let file_var = format!("{name}_FILE");
    match std::env::var_os(&file_var) {
        None => Ok(None),
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError::SecretFile(file_var.clone(), format!("{}: {e}", PathBuf::from(path).display())))?;
            Ok(Some(Secret(text.trim_end_matches(['\r', '\n']).to_owned())))
        }
    }
}

impl ServeArgs {
    /// Fills the secrets from the environment (`NAME` or `NAME_FILE`).
    pub fn read_secrets(&mut self) -> Result<(), ConfigError> {
        self.jwt_secret = secret_from_env("CASEWORK_JWT_SECRET")?;
        self.audit_signing_key = secret_from_env("CASEWORK_AUDIT_SIGNING_KEY")?;
        if let Some(password) = secret_from_env("CASEWORK_DEMO_PASSWORD")? {
            self.demo_password = password;
        }
        self.edge.metrics_token = secret_from_env("CASEWORK_METRICS_TOKEN")?;
        Ok(())
    }
}

/// A secret string whose `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(…)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Secret(value.to_owned()))
    }
}

/// Everything the running service needs, validated.
#[derive(Clone, Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    pub database_url: String,
    pub db_max_connections: u32,
    pub env: Environment,
    /// The HMAC key for access tokens.
    pub jwt_secret: Secret,
    pub access_token_ttl: Duration,
    /// `CASEWORK_AUTH_CACHE_SECS` (zero: every request reads its caller).
    pub auth_cache_ttl: Duration,
    pub refresh_token_ttl: Duration,
    pub demo: bool,
    pub demo_password: Secret,
    pub evidence_dir: PathBuf,
    /// `s3://bucket/prefix`: evidence in S3 instead of `evidence_dir`.
    pub evidence_url: Option<String>,
    /// `AWS_*` settings for the S3 store, as (name, value) pairs (values
    /// hidden from `Debug`: they include the secret key).
    pub s3_options: Vec<(String, Secret)>,
    pub max_upload_bytes: u64,
    pub upload_timeout: Duration,
    pub sla_scan_interval: Duration,
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub cors_origins: Vec<String>,
    pub default_currency: String,
    pub agent_authority_limit: Decimal,
    pub supervisor_authority_limit: Decimal,
    pub max_query_depth: usize,
    pub max_query_complexity: usize,
    pub login_attempts_per_minute: u32,
    pub log_format: LogFormat,
    pub closed_loop: LoopSettings,
    /// Signs audit checkpoints.
    pub audit_signing_key: SigningSeed,
    /// True when `audit_signing_key` was generated (development): warn.
    pub audit_signing_key_generated: bool,
    /// The public key (hex) verification pins.
    pub audit_public_key: String,
    pub audit_anchor_dir: Option<PathBuf>,
    /// Keys every audit event's MAC; `None`: derived from `audit_signing_key`
    /// (see [`Settings::audit_mac_key`]).
    pub audit_mac_key: Option<crate::audit::MacKey>,
    /// Trusted checkpoint keys (empty: the public key above, without period).
    pub audit_trusted_keys: Vec<crate::audit::checkpoint::TrustedKey>,
    /// Production starts even with a privileged database role.
    pub audit_allow_privileged_role: bool,
    /// Migrate on start (else only check that no migration is pending).
    pub migrate_on_start: bool,
    /// `None`: no checkpoint job.
    pub audit_checkpoint_interval: Option<Duration>,
    pub audit_checkpoint_poll: Duration,
    /// Time zone of the calendar buckets of statistics.
    pub report_timezone: chrono_tz::Tz,
    /// Longest statistics range, in days.
    pub stats_max_days: u32,
    pub edge: EdgeSettings,
    /// Absolute lifetime of a refresh-token family.
    pub session_max: Duration,
    /// Window in which a rotated refresh token may be presented again as a retry.
    pub refresh_retry: Duration,
    /// Lifetime of a one-time password-reset token.
    pub reset_token_ttl: Duration,
    pub ws_init_timeout: Duration,
    pub ws_max_subscriptions: usize,
    pub ws_max_subscriptions_per_user: usize,
    pub login_attempts_per_address_per_minute: u32,
    pub password_hash_concurrency: usize,
    pub password_hash_wait: Duration,
    /// The authority currency and its conversion rates.
    pub authority: crate::domain::policy::Authority,
}

/// The validated [`EdgeArgs`].
#[derive(Clone, Debug)]
pub struct EdgeSettings {
    pub trusted_proxies: crate::http::client_addr::TrustedProxies,
    pub metrics_listen: Option<SocketAddr>,
    pub metrics_token: Option<Secret>,
    pub db_statement_timeout: Option<Duration>,
    pub db_idle_in_transaction_timeout: Option<Duration>,
    pub creations_per_minute: u32,
    pub links_per_minute: u32,
    pub evidence_allow_archives: bool,
    pub clamd: Option<String>,
    pub evidence_verify_period: Duration,
    pub uploads_per_user: u32,
    pub upload_quota_bytes_per_day: Option<u64>,
    /// Whether responses report each operation's cost (`extensions.analyzer`).
    pub report_query_cost: bool,
    /// How often the blob garbage collector runs; `None`: not in this process.
    pub evidence_gc_interval: Option<Duration>,
    /// How long a blob stays unreferenced before it is collected.
    pub evidence_gc_grace: Duration,
}

impl EdgeSettings {
    fn from_args(args: &EdgeArgs) -> Result<EdgeSettings, ConfigError> {
        let seconds = |n: u64| (n > 0).then(|| Duration::from_secs(n));
        if args.metrics_token.as_ref().is_some_and(|t| t.expose().len() < 16) {
            return Err(ConfigError::WeakMetricsToken);
        }
        Ok(EdgeSettings {
            trusted_proxies: crate::http::client_addr::TrustedProxies::parse(&args.trusted_proxies)
                .map_err(ConfigError::TrustedProxies)?,
            metrics_listen: args.metrics_listen,
            metrics_token: args.metrics_token.clone().filter(|t| !t.expose().is_empty()),
            db_statement_timeout: seconds(args.db_statement_timeout_secs),
            db_idle_in_transaction_timeout: seconds(args.db_idle_in_transaction_timeout_secs),
            creations_per_minute: args.creations_per_minute,
            links_per_minute: args.links_per_minute,
            evidence_allow_archives: args.evidence_allow_archives,
            clamd: args.clamd.clone().filter(|c| !c.is_empty()),
            evidence_verify_period: Duration::from_secs(args.evidence_verify_period_secs),
            uploads_per_user: args.uploads_per_user.max(1),
            upload_quota_bytes_per_day: (args.upload_quota_bytes_per_day > 0).then_some(args.upload_quota_bytes_per_day),
            report_query_cost: args.report_query_cost,
            evidence_gc_interval: seconds(args.evidence_gc_interval_secs),
            evidence_gc_grace: Duration::from_secs(args.evidence_gc_grace_secs),
        })
    }
}

/// Timings of the closed loop: repeat complaints, callbacks and group suggestions.
#[derive(Args, Debug, Clone)]
pub struct LoopSettings {
    /// A customer's complaint within this many days of their previous one is a repeat.
    #[arg(long, env = "CASEWORK_REPEAT_WINDOW_DAYS", default_value_t = 30)]
    pub repeat_window_days: i64,
    /// Hours between progress updates owed to the customer of an open complaint.
    #[arg(long, env = "CASEWORK_UPDATE_INTERVAL_HOURS", default_value_t = 24)]
    pub update_interval_hours: i64,
    /// Hours after an unreached callback until the next attempt is due.
    #[arg(long, env = "CASEWORK_CALLBACK_RETRY_HOURS", default_value_t = 4)]
    pub callback_retry_hours: i64,
    /// Unreached callback attempts after which a resolved complaint may be closed as UNREACHABLE.
    #[arg(long, env = "CASEWORK_CALLBACK_MAX_ATTEMPTS", default_value_t = 3)]
    pub callback_max_attempts: i64,
    /// The fewest open, ungrouped complaints `groupCandidates` suggests as a group.
    #[arg(long, env = "CASEWORK_GROUP_MIN_SIZE", default_value_t = 3)]
    pub group_min_size: i64,
    /// Hours of intake `groupCandidates` clusters over (from `since`).
    #[arg(long, env = "CASEWORK_GROUP_WINDOW_HOURS", default_value_t = 24)]
    pub group_window_hours: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("CASEWORK_JWT_SECRET is required when CASEWORK_ENV=production")]
    MissingJwtSecret,
    #[error("CASEWORK_JWT_SECRET must be at least 32 bytes long")]
    WeakJwtSecret,
    #[error("--demo is refused when CASEWORK_ENV=production")]
    DemoInProduction,
    #[error("CASEWORK_DEFAULT_CURRENCY: {0}")]
    Currency(String),
    #[error("CASEWORK_AUDIT_SIGNING_KEY is required when CASEWORK_ENV=production")]
    MissingAuditKey,
    #[error("CASEWORK_AUDIT_SIGNING_KEY {0}")]
    AuditKey(String),
    #[error("CASEWORK_AUDIT_PUBLIC_KEY: {0}")]
    AuditPublicKey(String),
    #[error("CASEWORK_AUTHORITY_CURRENCY / CASEWORK_FX_RATES: {0}")]
    Authority(String),
    #[error("{0}: {1}")]
    SecretFile(String, String),
    #[error("CASEWORK_TRUSTED_PROXIES: {0}")]
    TrustedProxies(String),
    #[error("listening on {0}, which is not a loopback address, needs an explicit CASEWORK_ENV (production, or development if you mean it)")]
    ImplicitEnvironment(SocketAddr),
    #[error("CASEWORK_METRICS_TOKEN must be at least 16 characters long")]
    WeakMetricsToken,
    #[error("CASEWORK_AUDIT_MAC_KEY {0}")]
    AuditMacKey(String),
    #[error("CASEWORK_AUDIT_TRUSTED_KEYS: {0}")]
    AuditTrustedKeys(String),
}

/// The authority currency and `CODE=rate` pairs, validated.
fn authority(args: &SessionArgs, default_currency: &str) -> Result<crate::domain::policy::Authority, ConfigError> {
    use crate::domain::validation::Currency;
    let code = |field, value: &str| Currency::parse(field, value).map(|c| c.code().to_owned()).map_err(|e| ConfigError::Authority(e.message));
    let currency = code("CASEWORK_AUTHORITY_CURRENCY", args.authority_currency.as_deref().unwrap_or(default_currency))?;
    let mut rates = std::collections::HashMap::new();
    for pair in args.fx_rates.iter().map(|p| p.trim()).filter(|p| !p.is_empty()) {
        let (from, rate) = pair.split_once('=').ok_or_else(|| ConfigError::Authority(format!("{pair:?}: expected CODE=rate")))?;
        let rate: Decimal = rate.trim().parse().map_err(|_| ConfigError::Authority(format!("{pair:?}: not a decimal rate")))?;
        if rate <= Decimal::ZERO {
            return Err(ConfigError::Authority(format!("{pair:?}: the rate must be positive")));
        }
        rates.insert(code("CASEWORK_FX_RATES", from.trim())?, rate);
    }
    Ok(crate::domain::policy::Authority { currency, rates })
}

impl Settings {
    /// Validates `serve` options. Without a configured JWT secret in development a
    /// random one is generated (tokens then die with the process) — the caller warns.
    pub fn from_args(database: &DatabaseArgs, args: &ServeArgs) -> Result<(Settings, bool), ConfigError> {
        let env = match args.env {
            Some(env) => env,
            None if !args.listen.ip().is_loopback() => return Err(ConfigError::ImplicitEnvironment(args.listen)),
            None => Environment::Development,
        };
        let production = env == Environment::Production;
        let (jwt_secret, generated) = match &args.jwt_secret {
            Some(secret) if secret.expose().len() < 32 => return Err(ConfigError::WeakJwtSecret),
            Some(secret) => (secret.clone(), false),
            None if production => return Err(ConfigError::MissingJwtSecret),
            None => (Secret(crate::auth::tokens::random_token()), true),
        };
        if production && args.demo {
            return Err(ConfigError::DemoInProduction);
        }
        let currency = crate::domain::validation::Currency::parse("CASEWORK_DEFAULT_CURRENCY", &args.default_currency)
            .map_err(|e| ConfigError::Currency(e.message))?;
        let (audit_signing_key, audit_signing_key_generated) = match &args.audit_signing_key {
            Some(key) => (SigningSeed::parse(key.expose()).map_err(ConfigError::AuditKey)?, false),
            None if production => return Err(ConfigError::MissingAuditKey),
            None => (SigningSeed::random(), true),
        };
        let audit_public_key = match &args.audit_public_key {
            Some(key) => {
                crate::audit::checkpoint::parse_public_key(key).map_err(ConfigError::AuditPublicKey)?;
                key.trim().to_ascii_lowercase()
            }
            None => audit_signing_key.public_key_hex(),
        };
        let audit_mac_key = match &args.audit_mac_key {
            Some(key) => Some(crate::audit::MacKey::parse(key.expose()).map_err(ConfigError::AuditMacKey)?),
            None => None,
        };
        let audit_trusted_keys = match &args.audit_trusted_keys {
            Some(text) => crate::audit::checkpoint::parse_trusted_keys(text).map_err(ConfigError::AuditTrustedKeys)?,
            None => Vec::new(),
        };
        let settings = Settings {
            audit_mac_key,
            audit_trusted_keys,
            audit_allow_privileged_role: args.audit_allow_privileged_role,
            migrate_on_start: args.migrate_on_start,
            audit_signing_key,
            audit_signing_key_generated,
            audit_public_key,
            audit_anchor_dir: args.audit_anchor_dir.clone(),
            audit_checkpoint_interval: (args.audit_checkpoint_interval_secs > 0)
                .then(|| Duration::from_secs(args.audit_checkpoint_interval_secs)),
            audit_checkpoint_poll: Duration::from_secs(args.audit_checkpoint_poll_secs.max(1)),
            listen: args.listen,
            database_url: database.database_url.clone(),
            db_max_connections: database.db_max_connections,
            env,
            edge: EdgeSettings::from_args(&args.edge)?,
            jwt_secret,
            access_token_ttl: Duration::from_secs(args.access_token_ttl_secs),
            auth_cache_ttl: Duration::from_secs(args.auth_cache_secs),
            refresh_token_ttl: Duration::from_secs(args.refresh_token_ttl_secs),
            demo: args.demo,
            demo_password: args.demo_password.clone(),
            evidence_dir: args.evidence_dir.clone(),
            evidence_url: args.evidence_url.clone().filter(|u| !u.is_empty()),
            // The S3 store takes the usual AWS variables (credentials, region, endpoint).
            s3_options: std::env::vars().filter(|(k, _)| k.starts_with("AWS_")).map(|(k, v)| (k, Secret(v))).collect(),
            max_upload_bytes: args.max_upload_bytes,
            upload_timeout: Duration::from_secs(args.upload_timeout_secs.max(1)),
            sla_scan_interval: Duration::from_secs(args.sla_scan_interval_secs.max(1)),
            max_body_bytes: args.max_body_bytes,
            request_timeout: Duration::from_secs(args.request_timeout_secs.max(1)),
            cors_origins: args.cors_origins.iter().filter(|o| !o.is_empty()).cloned().collect(),
            default_currency: currency.code().to_owned(),
            agent_authority_limit: args.agent_authority_limit,
            supervisor_authority_limit: args.supervisor_authority_limit,
            max_query_depth: args.max_query_depth,
            max_query_complexity: args.max_query_complexity,
            login_attempts_per_minute: args.login_attempts_per_minute,
            log_format: args.log_format,
            report_timezone: args.report_timezone,
            stats_max_days: args.stats_max_days.max(1),
            session_max: Duration::from_secs(args.sessions.session_max_secs.max(1)),
            refresh_retry: Duration::from_secs(args.sessions.refresh_retry_secs),
            reset_token_ttl: Duration::from_secs(args.sessions.reset_token_ttl_secs.max(1)),
            ws_init_timeout: Duration::from_secs(args.sessions.ws_init_timeout_secs.max(1)),
            ws_max_subscriptions: args.sessions.ws_max_subscriptions.max(1),
            ws_max_subscriptions_per_user: args.sessions.ws_max_subscriptions_per_user.max(1),
            login_attempts_per_address_per_minute: args.sessions.login_attempts_per_address_per_minute,
            password_hash_concurrency: args
                .sessions
                .password_hash_concurrency
                .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2))
                .max(1),
            password_hash_wait: Duration::from_millis(args.sessions.password_hash_wait_ms),
            authority: authority(&args.sessions, currency.code())?,
            closed_loop: args.closed_loop.clone(),
        };
        Ok((settings, generated))
    }

    /// The events' MAC key: configured, or derived from the signing key.
    pub fn audit_mac_key(&self) -> crate::audit::MacKey {
        self.audit_mac_key.clone().unwrap_or_else(|| self.audit_signing_key.derive_mac_key())
    }

    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }

    /// The default compensation authority of a role.
    pub fn role_authority_limit(&self, role: Role) -> Decimal {
        match role {
            Role::Agent => self.agent_authority_limit,
            Role::Supervisor => self.supervisor_authority_limit,
            Role::Legal | Role::Auditor | Role::Admin => Decimal::ZERO,
        }
    }

    /// Settings for tests and tools: development defaults on the given database.
    pub fn for_database(database_url: &str) -> Settings {
        let cli = Cli::parse_from(["casework", "--database-url", database_url, "serve"]);
        let Command::Serve(args) = &cli.command else { unreachable!("parsed `serve`") };
        Settings::from_args(&cli.database, args).expect("development defaults are valid").0
    }
}
