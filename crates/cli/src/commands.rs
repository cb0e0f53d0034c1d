//! The subcommands.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory, Subcommand};
use makonis_app::secrets::SecretBox;
use makonis_app::{App, AppConfig, OpContext};
use makonis_demo::DemoLogin;
use makonis_types::paging::PageRequest;
use makonis_types::roles::{NewRoleAssignment, Role};
use makonis_types::user::NewUserInput;

use crate::config::{self, CommonArgs, Settings};
use crate::{Cli, Command, Output};

#[derive(Debug, Args)]
pub struct Target {
    /// TOML config file, as for `serve`.
    #[arg(long, env = "MAKONIS_CONFIG")]
    pub config: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a user directly in the database (bootstrap the first admin).
    CreateUser {
        #[command(flatten)]
        target: Target,
        /// Login e-mail.
        #[arg(long)]
        email: String,
        /// Full name.
        #[arg(long)]
        name: String,
        /// Role to grant: platform_admin, broker, institution_admin, …
        #[arg(long)]
        role: String,
        /// Institution short name (or id) for institution-scoped roles and home.
        #[arg(long)]
        institution: Option<String>,
        /// Read the password from standard input instead of MAKONIS_PASSWORD.
        #[arg(long)]
        password_stdin: bool,
        /// Enrol a TOTP second factor now and print its secret (always done
        /// for roles that require one).
        #[arg(long)]
        totp: bool,
        #[command(flatten)]
        output: crate::OutputArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the hash chain; exit status 1 if it is broken.
    Verify {
        #[command(flatten)]
        target: Target,
        /// Head hash recorded earlier elsewhere; catches a rewritten chain.
        #[arg(long)]
        expect_head: Option<String>,
        #[command(flatten)]
        output: crate::OutputArg,
    },
    /// Write every record as JSON Lines.
    Export {
        #[command(flatten)]
        target: Target,
        /// Output file (default: standard output).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve(args) => {
            let settings = config::resolve(args.config.as_deref(), &args.common, "makonis-data")?;
            let app = open_app(&settings).await?;
            serve(app, &settings).await?;
        }
        Command::Demo(args) => demo(&args.common, args.with_openstack, args.output.output).await?,
        Command::Admin(AdminCommand::CreateUser {
            target,
            email,
            name,
            role,
            institution,
            password_stdin,
            totp,
            output,
        }) => {
            let settings =
                config::resolve(target.config.as_deref(), &target.common, "makonis-data")?;
            let app = open_app(&settings).await?;
            create_user(
                &app,
                &email,
                &name,
                &role,
                institution.as_deref(),
                password_stdin,
                totp,
                output.output,
            )
            .await?;
        }
        Command::Audit(AuditCommand::Verify {
            target,
            expect_head,
            output,
        }) => {
            let settings =
                config::resolve(target.config.as_deref(), &target.common, "makonis-data")?;
            let app = open_app(&settings).await?;
            return verify(&app, expect_head.as_deref(), output.output).await;
        }
        Command::Audit(AuditCommand::Export { target, out }) => {
            let settings =
                config::resolve(target.config.as_deref(), &target.common, "makonis-data")?;
            let app = open_app(&settings).await?;
            export(&app, out.as_deref()).await?;
        }
        Command::Catalogue(command) => crate::client::catalogue(command).await?,
        Command::Order(command) => crate::client::order(command).await?,
        Command::Usage(command) => crate::client::usage(command).await?,
        Command::Statement(command) => crate::client::statement(command).await?,
        Command::Embassy(crate::site_check::EmbassyEntry::SiteCheck(args, output)) => {
            return crate::site_check::run(&args, output);
        }
        Command::Embassy(crate::site_check::EmbassyEntry::Engine(args)) => {
            // The engine blocks and runs its own worker threads.
            tokio::task::spawn_blocking(move || makonis_embassy::cli::run(args)).await??;
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "makonis",
                &mut std::io::stdout(),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn open_app(settings: &Settings) -> anyhow::Result<App> {
    std::fs::create_dir_all(&settings.data_dir).with_context(|| {
        format!(
            "cannot create data directory {}",
            settings.data_dir.display()
        )
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ =
            std::fs::set_permissions(&settings.data_dir, std::fs::Permissions::from_mode(0o700));
    }
    let datastore = match &settings.database_url {
        Some(url) => makonis_db::Datastore::connect(url)
            .await
            .with_context(|| format!("cannot open database {}", makonis_db::redact(url)))?,
        None => makonis_db::Datastore::open_sqlite_dir(&settings.data_dir)
            .await
            .with_context(|| {
                format!(
                    "cannot open the database in {}",
                    settings.data_dir.display()
                )
            })?,
    };
    let secrets = SecretBox::load_or_create(&settings.data_dir.join("master.key"))?;
    let config = AppConfig {
        state_dir: Some(settings.data_dir.clone()),
        ..AppConfig::default()
    };
    Ok(App::new(datastore, secrets, config))
}

async fn serve(app: App, settings: &Settings) -> anyhow::Result<()> {
    // Sagas a crash or a stop left unfinished go on (or unwind) now.
    let resumed = app.resume_sagas().await?;
    if resumed > 0 {
        tracing::info!(resumed, "resumed unfinished provisioning sagas");
    }
    app.spawn_reconcilers(std::time::Duration::from_secs(300));
    // Replication intervals are minutes; the pass finds what is due.
    app.spawn_embassy_jobs(std::time::Duration::from_secs(60));
    app.spawn_usage_collection(std::time::Duration::from_secs(15 * 60));
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let router = makonis_server::router(
        app,
        makonis_server::ServerConfig {
            secure_cookies: settings.secure_cookies,
            ..Default::default()
        },
    );
    tracing::info!(address = %settings.listen, "serving");
    makonis_server::serve(listener, router, async {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
    .await?;
    Ok(())
}

async fn demo(args: &CommonArgs, with_openstack: bool, output: Output) -> anyhow::Result<()> {
    let settings = config::resolve(None, args, "makonis-demo")?;
    // Read the peer's settings before anything is seeded, so a missing
    // peer fails the command cleanly.
    let peer = if with_openstack {
        let dir = makonis_drivers::openstack::LocalPeer::dir();
        Some(
            makonis_drivers::openstack::LocalPeer::read(&dir)
                .map_err(|e| anyhow::anyhow!("--with-openstack: {e}"))?,
        )
    } else {
        None
    };
    let app = open_app(&settings).await?;
    let logins_path = settings.data_dir.join("demo-logins.json");
    let logins: Vec<DemoLogin> = match makonis_demo::seed(&app).await? {
        Some(logins) => {
            write_private(&logins_path, &serde_json::to_vec_pretty(&logins)?)?;
            logins
        }
        None => match std::fs::read(&logins_path) {
            Ok(bytes) => serde_json::from_slice(&bytes).with_context(|| {
                format!("{} is not valid demo-logins JSON", logins_path.display())
            })?,
            Err(_) => Vec::new(),
        },
    };
    let openstack = match &peer {
        Some(peer) => Some(makonis_demo::register_local_openstack(&app, peer).await?),
        None => None,
    };
    let url = format!("http://{}/", settings.listen);
    match output {
        Output::Json => println!(
            "{}",
            serde_json::json!({ "url": url, "data_dir": settings.data_dir, "logins": logins,
                "openstack": openstack })
        ),
        Output::Text => {
            println!("Mākonis demo: {url}");
            println!(
                "Data: {} (delete it to start over)",
                settings.data_dir.display()
            );
            println!("API docs: {url}api/v1/docs");
            println!();
            println!(
                "Demo logins (password for all: {}):",
                makonis_demo::DEMO_PASSWORD
            );
            println!(
                "{:<26} {:<20} {:<9} TOTP secret (add to an authenticator app)",
                "e-mail", "role", "inst."
            );
            for l in &logins {
                println!(
                    "{:<26} {:<20} {:<9} {}",
                    l.email,
                    l.role,
                    l.institution.as_deref().unwrap_or("—"),
                    l.totp_secret
                );
            }
            if logins.is_empty() {
                println!("(this data directory was not seeded by `makonis demo`; no demo logins)");
            }
            if let Some(os) = &openstack {
                println!();
                println!(
                    "Local OpenStack registered as {} (Keystone {}): {} offerings added, {} unchanged; \
                     orders for its offerings create servers in Nova (and volumes in Cinder).",
                    os.provider,
                    os.keystone,
                    os.sync.added.len(),
                    os.sync.unchanged
                );
            }
            println!();
        }
    }
    std::io::stdout().flush()?;
    serve(app, &settings).await
}

fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(path)
        .and_then(|mut f| f.write_all(bytes))
        .with_context(|| format!("cannot write {}", path.display()))
}

#[allow(clippy::too_many_arguments)]
async fn create_user(
    app: &App,
    email: &str,
    name: &str,
    role: &str,
    institution: Option<&str>,
    password_stdin: bool,
    totp: bool,
    output: Output,
) -> anyhow::Result<()> {
    let role: Role = role.parse().map_err(|e| anyhow::anyhow!("--role: {e}"))?;
    let ctx = OpContext::system("cli-admin");
    let institution_id = match institution {
        None => None,
        Some(key) => {
            let page = app
                .list_institutions(
                    &ctx,
                    Some(key),
                    PageRequest {
                        limit: Some(500),
                        offset: None,
                    },
                )
                .await?;
            let found = page
                .items
                .iter()
                .find(|i| i.short_name.eq_ignore_ascii_case(key) || i.id.to_string() == key)
                .with_context(|| {
                    format!("--institution: no institution with short name or id '{key}'")
                })?;
            Some(found.id)
        }
    };
    let password = if password_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        std::env::var("MAKONIS_PASSWORD").map_err(|_| {
            anyhow::anyhow!(
                "give the password in MAKONIS_PASSWORD or on standard input with --password-stdin"
            )
        })?
    };
    let scope = if role.allows_platform_scope() && !role.allows_institution_scope() {
        None
    } else {
        institution_id
    };
    let created = app
        .create_user(
            &ctx,
            &NewUserInput {
                email: email.to_owned(),
                display_name: name.to_owned(),
                institution_id,
                password,
                roles: vec![NewRoleAssignment {
                    role,
                    institution_id: scope,
                }],
            },
        )
        .await
        .map_err(describe)?;
    let secret = if totp || role.requires_mfa() {
        let secret = totp_rs::Secret::generate_secret();
        let bytes = secret
            .to_bytes()
            .map_err(|e| anyhow::anyhow!("TOTP secret: {e:?}"))?;
        app.enrol_totp_as_system(&ctx, created.user.id, &bytes)
            .await?;
        Some(secret.to_encoded().to_string())
    } else {
        None
    };
    match output {
        Output::Json => println!(
            "{}",
            serde_json::json!({ "id": created.user.id, "email": created.user.email, "role": role, "totp_secret": secret })
        ),
        Output::Text => {
            println!(
                "created user {} ({}) with role {role}",
                created.user.email, created.user.id
            );
            if let Some(secret) = secret {
                println!("TOTP secret (give it to the user; shown once): {secret}");
            }
        }
    }
    Ok(())
}

/// App errors with their field detail, for the terminal.
fn describe(error: makonis_app::Error) -> anyhow::Error {
    match error {
        makonis_app::Error::Invalid(fields) => {
            let lines: Vec<String> = fields
                .iter()
                .map(|f| format!("  --{}: {}", f.field.replace('_', "-"), f.message))
                .collect();
            anyhow::anyhow!("invalid input:\n{}", lines.join("\n"))
        }
        other => anyhow::anyhow!(other),
    }
}

async fn verify(app: &App, expect_head: Option<&str>, output: Output) -> anyhow::Result<ExitCode> {
    let report = app.verify_audit_chain(expect_head).await?;
    match output {
        Output::Json => println!("{}", serde_json::to_string(&report)?),
        Output::Text => match &report.first_break {
            None => println!(
                "audit chain intact: {} records; head #{} {}",
                report.records_checked, report.head_seq, report.head_hash
            ),
            Some(b) => println!(
                "audit chain BROKEN at record #{} ({:?}): {}\n{} records before it verified",
                b.seq, b.kind, b.detail, report.records_checked
            ),
        },
    }
    Ok(if report.is_intact() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

async fn export(app: &App, out: Option<&Path>) -> anyhow::Result<()> {
    let mut writer: Box<dyn Write> = match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let count = app
        .export_audit_chain(|r| {
            serde_json::to_writer(&mut writer, r).map_err(std::io::Error::other)?;
            writer.write_all(b"\n")
        })
        .await?;
    writer.flush()?;
    if out.is_some() {
        eprintln!("exported {count} audit records");
    }
    Ok(())
}
