//! Settings for `serve` and `demo`: flags beat environment variables, which
//! beat the config file, which beats the defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::Args;
use serde::Deserialize;

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML config file (keys: data_dir, listen, database_url, secure_cookies).
    #[arg(long, env = "MAKONIS_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Also register the OpenStack running on this machine
    /// (scripts/peers/openstack-up) as a provider, so orders create real
    /// servers in Nova.
    #[arg(long)]
    pub with_openstack: bool,
    #[command(flatten)]
    pub output: crate::OutputArg,
}

#[derive(Debug, Args, Default)]
pub struct CommonArgs {
    /// Where the database (SQLite), the master key and other local state live.
    #[arg(long, env = "MAKONIS_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, env = "MAKONIS_LISTEN")]
    pub listen: Option<String>,
    /// postgres://… to use PostgreSQL instead of the embedded SQLite file.
    #[arg(long, env = "MAKONIS_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Mark cookies Secure (set when served over TLS).
    #[arg(long, env = "MAKONIS_SECURE_COOKIES")]
    pub secure_cookies: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    database_url: Option<String>,
    secure_cookies: Option<bool>,
}

/// Settings after merging.
#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub database_url: Option<String>,
    pub secure_cookies: bool,
}

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

pub fn resolve(
    config: Option<&Path>,
    args: &CommonArgs,
    default_data_dir: &str,
) -> anyhow::Result<Settings> {
    let file = match config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            toml::from_str::<FileConfig>(&text)
                .map_err(|e| anyhow::anyhow!("config file {}: {e}", path.display()))?
        }
        None => FileConfig::default(),
    };
    let listen_text = args
        .listen
        .clone()
        .or(file.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let listen: SocketAddr = match listen_text.parse() {
        Ok(addr) => addr,
        Err(_) => bail!("--listen: '{listen_text}' is not an address like 127.0.0.1:8080"),
    };
    let database_url = args.database_url.clone().or(file.database_url);
    if let Some(url) = &database_url
        && !url.starts_with("postgres://")
        && !url.starts_with("postgresql://")
        && !url.starts_with("sqlite:")
    {
        bail!(
            "--database-url: expected postgres://user:password@host/db (or sqlite://path), got '{}'",
            makonis_db::redact(url)
        );
    }
    Ok(Settings {
        data_dir: args
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from(default_data_dir)),
        listen,
        database_url,
        secure_cookies: args.secure_cookies.or(file.secure_cookies).unwrap_or(false),
    })
}

pub fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let json = std::env::var("MAKONIS_LOG_FORMAT").is_ok_and(|v| v == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_the_file_and_bad_values_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("makonis.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\ndata_dir = \"/srv/makonis\"\n",
        )
        .unwrap();
        let args = CommonArgs {
            listen: Some("127.0.0.1:9100".into()),
            ..Default::default()
        };
        let s = resolve(Some(&path), &args, "x").unwrap();
        assert_eq!(s.listen.port(), 9100);
        assert_eq!(s.data_dir, PathBuf::from("/srv/makonis"));

        let bad = CommonArgs {
            listen: Some("localhost".into()),
            ..Default::default()
        };
        let err = resolve(None, &bad, "x").unwrap_err().to_string();
        assert!(
            err.contains("--listen") && err.contains("localhost"),
            "{err}"
        );

        std::fs::write(&path, "listen = 5\n").unwrap();
        let err = resolve(Some(&path), &CommonArgs::default(), "x")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("makonis.toml") && err.contains("listen"),
            "{err}"
        );

        std::fs::write(&path, "colour = \"blue\"\n").unwrap();
        let err = resolve(Some(&path), &CommonArgs::default(), "x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("colour"), "{err}");

        let pg = CommonArgs {
            database_url: Some("mysql://u:secret@h/db".into()),
            ..Default::default()
        };
        let err = resolve(None, &pg, "x").unwrap_err().to_string();
        assert!(
            err.contains("--database-url") && !err.contains("secret"),
            "{err}"
        );
    }
}
