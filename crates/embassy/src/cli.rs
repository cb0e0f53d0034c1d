//! Command-line front end (feature `cli`): clap definitions and a `run`
//! function, so the main `makonis` binary can mount the engine as
//! `makonis embassy ...`. Text output for people, `--output json` for
//! scripts, indicatif progress bars on a terminal.
//!
//! Passwords never come from the command line (they would show in `ps`):
//! `MAKONIS_EMBASSY_PASSWORD` or `--password-file`; a second repository
//! (copy or replicate target, repair source) uses `MAKONIS_EMBASSY_PASSWORD2` or
//! `--password-file2`; a new key uses `MAKONIS_EMBASSY_NEW_PASSWORD` or
//! `--new-password-file`.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::ops::{
    self, BackupOptions, CheckOptions, KeepPolicy, ParentChoice, PruneOptions, RestoreOptions,
};
use crate::progress::Progress;
use crate::{InitOptions, KdfParams, Repository, Snapshot, open_location};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum OutputFormat {
    #[default]
    Text,
    Json,
}

/// `makonis embassy [OPTIONS] <COMMAND>`
#[derive(Debug, Args)]
pub struct EmbassyArgs {
    /// Repository: a directory, or s3://bucket/prefix (endpoint from AWS_ENDPOINT_URL,
    /// extra trusted CA certificates for https from AWS_CA_BUNDLE).
    #[arg(long, env = "MAKONIS_EMBASSY_REPO", global = true)]
    pub repo: Option<String>,
    /// File holding the password (else MAKONIS_EMBASSY_PASSWORD).
    #[arg(long, global = true)]
    pub password_file: Option<PathBuf>,
    /// Password file for the second repository of copy/replicate/repair/init --share-ids-with.
    #[arg(long, global = true)]
    pub password_file2: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text, global = true)]
    pub output: OutputFormat,
    /// Never draw progress bars.
    #[arg(long, global = true)]
    pub no_progress: bool,
    #[command(subcommand)]
    pub command: EmbassyCommand,
}

#[derive(Debug, Subcommand)]
pub enum EmbassyCommand {
    /// Create a repository.
    Init {
        /// Share blob ids with this repository (needed for cheap copy and for repair).
        #[arg(long)]
        share_ids_with: Option<String>,
    },
    /// Back up paths, or stdin with --stdin-name.
    Backup {
        paths: Vec<PathBuf>,
        /// Read a stream from stdin and store it as this file name.
        #[arg(long, conflicts_with = "paths")]
        stdin_name: Option<String>,
        #[arg(long)]
        tag: Vec<String>,
        #[arg(long)]
        host: Option<String>,
        /// Read every file even if unchanged since the parent snapshot.
        #[arg(long)]
        no_parent: bool,
    },
    /// Restore a snapshot (id prefix or `latest`).
    Restore {
        snapshot: String,
        #[arg(long)]
        target: PathBuf,
        /// Only this path inside the snapshot.
        #[arg(long)]
        path: Option<String>,
    },
    /// List snapshots.
    Snapshots,
    /// Show paths added, removed and changed between two snapshots.
    Diff { from: String, to: String },
    /// Verify the repository.
    Check {
        /// Read and verify all data, not only structure.
        #[arg(long)]
        read_data: bool,
    },
    /// Remove snapshots by id or by retention policy.
    Forget {
        ids: Vec<String>,
        #[arg(long)]
        keep_last: Option<u32>,
        #[arg(long)]
        keep_hourly: Option<u32>,
        #[arg(long)]
        keep_daily: Option<u32>,
        #[arg(long)]
        keep_weekly: Option<u32>,
        #[arg(long)]
        keep_monthly: Option<u32>,
        #[arg(long)]
        keep_yearly: Option<u32>,
        /// Keep snapshots newer than this (e.g. 30d, 12h, 2w).
        #[arg(long)]
        keep_within: Option<String>,
        #[arg(long)]
        keep_tag: Vec<String>,
        #[arg(long)]
        dry_run: bool,
        /// Prune afterwards.
        #[arg(long)]
        prune: bool,
    },
    /// Delete unreferenced data.
    Prune {
        /// Repack packs with more than this percentage unused.
        #[arg(long, default_value_t = 5.0)]
        max_unused: f64,
        #[arg(long)]
        dry_run: bool,
    },
    /// Copy snapshots to another repository (re-encrypted with its keys).
    Copy {
        /// Target repository.
        #[arg(long)]
        to: String,
        /// Snapshots to copy (default: all).
        snapshots: Vec<String>,
    },
    /// Replicate snapshots the replica lacks (hot copy), or take a cold
    /// copy into an Object Lock bucket. Resumes an interrupted run without
    /// sending again what already arrived; prints the achieved RPO.
    Replicate {
        /// Replica repository (directory or s3://bucket/prefix); its
        /// password comes from MAKONIS_EMBASSY_PASSWORD2 or --password-file2.
        #[arg(long)]
        to: String,
        /// Cold copy: write every object with a COMPLIANCE retention of this
        /// many days (s3:// only; the bucket must have Object Lock enabled).
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        cold_retain_days: Option<u32>,
        /// Only snapshots of this host (repeatable: any of them).
        #[arg(long)]
        host: Vec<String>,
        /// Only snapshots with this tag (repeatable: all of them).
        #[arg(long)]
        tag: Vec<String>,
        /// Only snapshots including this path (repeatable: any of them).
        #[arg(long)]
        path: Vec<String>,
        /// Create the replica, sharing blob ids and chunking with the
        /// source, when there is none at --to yet.
        #[arg(long)]
        init: bool,
    },
    /// Repair the repository.
    Repair {
        #[command(subcommand)]
        what: RepairCommand,
    },
    /// Manage passwords (key files).
    Key {
        #[command(subcommand)]
        what: KeyCommand,
    },
    /// Remove all locks (after a crash on another host).
    Unlock,
    /// Upgrade the repository to the current format version (version 2
    /// records hard links and extended attributes). Builds that only read
    /// older versions refuse it afterwards.
    Migrate,
}

#[derive(Debug, Subcommand)]
pub enum RepairCommand {
    /// Replace damaged or missing packs with blobs from another copy.
    Packs {
        #[arg(long)]
        from: String,
    },
    /// Rebuild the index from pack headers.
    Index,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    List,
    /// Add a password (MAKONIS_EMBASSY_NEW_PASSWORD or --new-password-file).
    Add {
        #[arg(long)]
        new_password_file: Option<PathBuf>,
    },
    Remove {
        id: String,
    },
}

struct Bar(ProgressBar);

impl Bar {
    fn new(hidden: bool) -> Bar {
        if hidden {
            return Bar(ProgressBar::hidden());
        }
        let b = ProgressBar::new(0);
        b.set_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        b.enable_steady_tick(Duration::from_millis(200));
        Bar(b)
    }
}

impl Progress for Bar {
    fn set_total(&self, bytes: u64) {
        self.0.set_length(bytes);
    }
    fn inc(&self, bytes: u64) {
        self.0.inc(bytes);
    }
    fn message(&self, msg: &str) {
        self.0.set_message(msg.to_string());
    }
    fn warn(&self, msg: &str) {
        self.0.suspend(|| eprintln!("warning: {msg}"));
    }
    fn finish(&self) {
        self.0.finish_and_clear();
    }
}

fn read_secret(file: &Option<PathBuf>, env: &str, what: &str) -> anyhow::Result<String> {
    if let Some(f) = file {
        let s = std::fs::read_to_string(f)
            .with_context(|| format!("reading {what} from {}", f.display()))?;
        return Ok(s.trim_end_matches(['\n', '\r']).to_string());
    }
    std::env::var(env).with_context(|| format!("no {what}: set {env} or pass a password file"))
}

#[derive(Serialize)]
struct SnapshotOut<'a> {
    id: String,
    short_id: String,
    #[serde(flatten)]
    snapshot: &'a Snapshot,
}

fn snap_out(s: &Snapshot) -> SnapshotOut<'_> {
    SnapshotOut {
        id: s.id.to_hex(),
        short_id: s.id.short(),
        snapshot: s,
    }
}

fn parse_duration(s: &str) -> anyhow::Result<chrono::Duration> {
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: i64 = num.parse().with_context(|| format!("bad duration {s:?}"))?;
    let d = match unit {
        "h" => chrono::Duration::try_hours(n),
        "d" | "" => chrono::Duration::try_days(n),
        "w" => chrono::Duration::try_weeks(n),
        "m" => n.checked_mul(30).and_then(chrono::Duration::try_days),
        "y" => n.checked_mul(365).and_then(chrono::Duration::try_days),
        _ => bail!("bad duration unit in {s:?} (use h, d, w, m, y)"),
    };
    d.with_context(|| format!("duration {s:?} is too long"))
}

fn print<T: Serialize>(
    fmt: OutputFormat,
    value: &T,
    text: impl FnOnce() -> String,
) -> anyhow::Result<()> {
    match fmt {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(value)?),
        OutputFormat::Text => println!("{}", text()),
    }
    Ok(())
}

fn human_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86400, s % 86400 / 3600),
    }
}

fn replication_text(r: &ops::ReplicationReport, rpo: Option<Duration>) -> String {
    let mut t = format!(
        "replicated {} snapshots to {} ({} already present): {} blobs / {} bytes uploaded in {} packs, {} bytes not sent (already present), {:.1}s",
        r.snapshots_copied.len(),
        r.replica,
        r.snapshots_present,
        r.blobs_uploaded,
        r.bytes_uploaded,
        r.packs_uploaded,
        r.bytes_skipped,
        r.duration.as_secs_f64()
    );
    if r.adopted.packs > 0 {
        t.push_str(&format!(
            "\nreused {} packs ({} bytes) left by an interrupted run",
            r.adopted.packs, r.adopted.bytes
        ));
    }
    for (name, why) in &r.adopted.unreadable {
        t.push_str(&format!(
            "\nwarning: unindexed pack {name} unreadable: {why}"
        ));
    }
    for s in &r.snapshots_copied {
        t.push_str(&format!(
            "\n{} -> {}  {}",
            s.source.short(),
            s.replica.short(),
            s.time.format("%Y-%m-%d %H:%M:%S")
        ));
    }
    if let Some(c) = &r.cold {
        t.push_str(&format!(
            "\ncold copy: {} objects retained ({}) until at least {}, {} extended",
            c.objects_checked,
            if c.compliance {
                "COMPLIANCE"
            } else {
                "GOVERNANCE"
            },
            c.retained_until.format("%Y-%m-%d %H:%M:%S UTC"),
            c.objects_extended
        ));
    }
    match (r.newest_replicated_snapshot_time, rpo) {
        (Some(time), Some(rpo)) => t.push_str(&format!(
            "\nnewest replicated snapshot {}, achieved RPO {}",
            time.format("%Y-%m-%d %H:%M:%S UTC"),
            human_duration(rpo)
        )),
        _ => t.push_str("\nno snapshot replicated yet: RPO unbounded"),
    }
    t
}

/// The replica backend of a cold copy: S3 with a COMPLIANCE object lock.
fn cold_backend(location: &str, days: u32) -> anyhow::Result<crate::DynBackend> {
    let Some(rest) = location.strip_prefix("s3://") else {
        bail!("a cold copy needs an s3:// replica with Object Lock, not {location}");
    };
    #[cfg(feature = "s3")]
    {
        use crate::backend::s3::{ObjectLock, S3Backend};
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        let b = S3Backend::from_env(bucket, prefix)?.with_object_lock(ObjectLock {
            compliance: true,
            retain: Duration::from_secs(u64::from(days) * 86_400),
        });
        Ok(std::sync::Arc::new(b))
    }
    #[cfg(not(feature = "s3"))]
    {
        let _ = (rest, days);
        bail!("this build has no S3 support (feature `s3`)");
    }
}

/// Run one `makonis embassy` command. Blocking: call it from a plain thread
/// or `tokio::task::spawn_blocking`.
pub fn run(args: EmbassyArgs) -> anyhow::Result<()> {
    let Some(location) = args.repo.clone() else {
        bail!("no repository: pass --repo or set MAKONIS_EMBASSY_REPO");
    };
    let fmt = args.output;
    let hide = args.no_progress || fmt == OutputFormat::Json;
    let password = || read_secret(&args.password_file, "MAKONIS_EMBASSY_PASSWORD", "password");
    let password2 = || {
        read_secret(
            &args.password_file2,
            "MAKONIS_EMBASSY_PASSWORD2",
            "second repository password",
        )
    };
    let open = || -> anyhow::Result<Repository> {
        Ok(Repository::open(open_location(&location)?, &password()?)?)
    };
    match args.command {
        EmbassyCommand::Init { share_ids_with } => {
            let mut opts = InitOptions::default();
            if let Some(other) = share_ids_with {
                let o = Repository::open(open_location(&other)?, &password2()?)?;
                opts.share_ids_with = Some(o.key().clone());
            }
            let repo = Repository::init(open_location(&location)?, &password()?, opts)?;
            let id = repo.config().repo_id.to_hex();
            print(
                fmt,
                &serde_json::json!({"repository": location, "id": id}),
                || format!("created repository {id} at {location}"),
            )?;
        }
        EmbassyCommand::Backup {
            paths,
            stdin_name,
            tag,
            host,
            no_parent,
        } => {
            let repo = open()?;
            let opts = BackupOptions {
                tags: tag,
                hostname: host,
                parent: if no_parent {
                    ParentChoice::None
                } else {
                    ParentChoice::Auto
                },
                ..Default::default()
            };
            let bar = Bar::new(hide);
            let r = match stdin_name {
                Some(name) => {
                    ops::backup_reader(&repo, std::io::stdin().lock(), &name, &opts, &bar)?
                }
                None => {
                    if paths.is_empty() {
                        bail!("nothing to back up: give paths or --stdin-name");
                    }
                    ops::backup(&repo, &paths, &opts, &bar)?
                }
            };
            let s = &r.summary;
            print(fmt, &snap_out(&r.snapshot), || {
                let mut t = format!(
                    "snapshot {} saved: {} new, {} changed, {} unmodified files; {} bytes read, {} added ({} stored)",
                    r.snapshot.id.short(),
                    s.files_new,
                    s.files_changed,
                    s.files_unmodified,
                    s.bytes_read,
                    s.bytes_added,
                    s.bytes_stored
                );
                for (p, e) in &s.errors {
                    t.push_str(&format!("\nskipped {p}: {e}"));
                }
                for (p, e) in &s.warnings {
                    t.push_str(&format!("\nwarning {p}: {e}"));
                }
                t
            })?;
            if !s.errors.is_empty() {
                bail!(
                    "{} source entries could not be read (listed above)",
                    s.errors.len()
                );
            }
        }
        EmbassyCommand::Restore {
            snapshot,
            target,
            path,
        } => {
            let repo = open()?;
            let snap = repo.find_snapshot(&snapshot)?;
            let bar = Bar::new(hide);
            let r = ops::restore(
                &repo,
                &snap,
                &RestoreOptions {
                    target: target.clone(),
                    subpath: path,
                    threads: 0,
                },
                &bar,
            )?;
            print(fmt, &r, || {
                let mut t = format!(
                    "restored snapshot {} to {}: {} files, {} dirs, {} symlinks ({} hard links), {} bytes",
                    snap.id.short(),
                    target.display(),
                    r.files,
                    r.dirs,
                    r.symlinks,
                    r.hardlinks,
                    r.bytes
                );
                for (p, e) in &r.warnings {
                    t.push_str(&format!("\nwarning {p}: {e}"));
                }
                for (p, e) in &r.errors {
                    t.push_str(&format!("\nerror {p}: {e}"));
                }
                t
            })?;
            if !r.errors.is_empty() {
                bail!("{} entries could not be restored", r.errors.len());
            }
        }
        EmbassyCommand::Snapshots => {
            let repo = open()?;
            let snaps = repo.list_snapshots()?;
            let out: Vec<SnapshotOut> = snaps.iter().map(snap_out).collect();
            print(fmt, &out, || {
                let mut t =
                    String::from("ID        Time                 Host            Tags       Paths");
                for s in &snaps {
                    t.push_str(&format!(
                        "\n{}  {}  {:<15} {:<10} {}",
                        s.id.short(),
                        s.time.format("%Y-%m-%d %H:%M:%S"),
                        s.hostname,
                        s.tags.join(","),
                        s.paths.join(" ")
                    ));
                }
                t.push_str(&format!("\n{} snapshots", snaps.len()));
                t
            })?;
        }
        EmbassyCommand::Diff { from, to } => {
            let repo = open()?;
            let a = repo.find_snapshot(&from)?;
            let b = repo.find_snapshot(&to)?;
            let d = ops::diff(&repo, &a, &b)?;
            print(fmt, &d, || {
                d.iter()
                    .map(|e| {
                        let c = match e.kind {
                            ops::DiffKind::Added => '+',
                            ops::DiffKind::Removed => '-',
                            ops::DiffKind::Modified => 'M',
                            ops::DiffKind::Metadata => 'U',
                        };
                        format!("{c}    {}", e.path)
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })?;
        }
        EmbassyCommand::Check { read_data } => {
            let repo = open()?;
            let bar = Bar::new(hide);
            let r = ops::check(&repo, &CheckOptions { read_data }, &bar)?;
            print(fmt, &r, || {
                let mut t = format!(
                    "checked {} snapshots, {} trees, {} data blobs, {} packs{}",
                    r.snapshots,
                    r.trees,
                    r.data_blobs,
                    r.packs,
                    if read_data { " (all data read)" } else { "" }
                );
                for w in &r.warnings {
                    t.push_str(&format!("\nwarning: {w}"));
                }
                for p in &r.problems {
                    t.push_str(&format!("\nerror: {p}"));
                }
                if r.is_ok() {
                    t.push_str("\nno errors found");
                }
                t
            })?;
            r.into_result()?;
        }
        EmbassyCommand::Forget {
            ids,
            keep_last,
            keep_hourly,
            keep_daily,
            keep_weekly,
            keep_monthly,
            keep_yearly,
            keep_within,
            keep_tag,
            dry_run,
            prune,
        } => {
            let repo = open()?;
            if !ids.is_empty() {
                if dry_run {
                    bail!("--dry-run applies to policies only");
                }
                let removed = ops::forget_ids(&repo, &ids)?;
                let out: Vec<SnapshotOut> = removed.iter().map(snap_out).collect();
                print(fmt, &out, || format!("removed {} snapshots", removed.len()))?;
            } else {
                let policy = KeepPolicy {
                    last: keep_last,
                    hourly: keep_hourly,
                    daily: keep_daily,
                    weekly: keep_weekly,
                    monthly: keep_monthly,
                    yearly: keep_yearly,
                    within: keep_within.as_deref().map(parse_duration).transpose()?,
                    tags: keep_tag,
                };
                let groups = ops::forget(&repo, &policy, dry_run)?;
                let json: Vec<_> = groups
                    .iter()
                    .map(|g| {
                        serde_json::json!({
                            "hostname": g.hostname, "paths": g.paths,
                            "keep": g.keep.iter().map(snap_out).collect::<Vec<_>>(),
                            "remove": g.remove.iter().map(snap_out).collect::<Vec<_>>(),
                        })
                    })
                    .collect();
                print(fmt, &json, || {
                    groups
                        .iter()
                        .map(|g| {
                            format!(
                                "{} {}: keep {}, {} {}",
                                g.hostname,
                                g.paths.join(" "),
                                g.keep.len(),
                                if dry_run { "would remove" } else { "removed" },
                                g.remove.len()
                            )
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })?;
            }
            if prune && !dry_run {
                let s = ops::prune(&repo, &PruneOptions::default(), &Bar::new(hide))?;
                print(fmt, &s, || format!("{s:?}"))?;
            }
        }
        EmbassyCommand::Prune {
            max_unused,
            dry_run,
        } => {
            let repo = open()?;
            let s = ops::prune(
                &repo,
                &PruneOptions {
                    max_unused: max_unused / 100.0,
                    dry_run,
                },
                &Bar::new(hide),
            )?;
            print(fmt, &s, || {
                format!(
                    "{}deleted {} packs, repacked {}, removed {} orphan packs, {} blobs; {} bytes freed",
                    if dry_run { "would have " } else { "" },
                    s.packs_deleted,
                    s.packs_repacked,
                    s.orphan_packs_deleted,
                    s.blobs_removed,
                    s.bytes_freed
                )
            })?;
        }
        EmbassyCommand::Copy { to, snapshots } => {
            let src = open()?;
            let dst = Repository::open(open_location(&to)?, &password2()?)?;
            let snaps = snapshots
                .iter()
                .map(|s| src.find_snapshot(s))
                .collect::<crate::Result<Vec<_>>>()?;
            let s = ops::copy(&src, &dst, &snaps, &Bar::new(hide))?;
            print(fmt, &s, || {
                let mut t = format!(
                    "copied {} snapshots ({} already present): {} blobs, {} bytes",
                    s.snapshots_copied.len(),
                    s.snapshots_skipped,
                    s.blobs_copied,
                    s.bytes_copied
                );
                for (a, b) in &s.snapshots_copied {
                    t.push_str(&format!("\n{} -> {}", a.short(), b.short()));
                }
                t
            })?;
        }
        EmbassyCommand::Replicate {
            to,
            cold_retain_days,
            host,
            tag,
            path,
            init,
        } => {
            let src = open()?;
            let backend = match cold_retain_days {
                Some(days) => cold_backend(&to, days)?,
                None => open_location(&to)?,
            };
            let dst = match Repository::open(backend.clone(), &password2()?) {
                Err(crate::Error::NotARepository(_)) if init => {
                    let c = src.config();
                    let opts = InitOptions {
                        chunker: src.chunker_params(),
                        pack_size: c.pack_size,
                        zstd_level: c.zstd_level,
                        share_ids_with: Some(src.key().clone()),
                        // The replica holds what the source holds, and stays
                        // readable by the builds that read the source.
                        format_version: c.version,
                        ..Default::default()
                    };
                    Repository::init(backend, &password2()?, opts)?
                }
                r => r.with_context(|| format!("opening the replica {to}"))?,
            };
            let opts = ops::ReplicateOptions {
                filter: ops::SnapshotFilter {
                    hosts: host,
                    tags: tag,
                    paths: path,
                },
                ..Default::default()
            };
            let bar = Bar::new(hide);
            let r = if cold_retain_days.is_some() {
                ops::cold_copy(&src, &dst, &opts, &bar)
            } else {
                ops::replicate(&src, &dst, &opts, &bar)
            };
            let now = chrono::Utc::now();
            match r {
                Ok(rep) => {
                    let rpo = rep.achieved_rpo(now);
                    let json = serde_json::json!({
                        "report": rep,
                        "achieved_rpo_secs": rpo.map(|d| d.as_secs()),
                    });
                    print(fmt, &json, || replication_text(&rep, rpo))?;
                }
                Err(e) => {
                    if fmt == OutputFormat::Json {
                        let json = serde_json::json!({
                            "error": e.error.to_string(),
                            "partial": e.partial,
                            "achieved_rpo_secs": e.partial.achieved_rpo(now).map(|d| d.as_secs()),
                        });
                        println!("{}", serde_json::to_string_pretty(&json)?);
                    }
                    return Err(e.into());
                }
            }
        }
        EmbassyCommand::Repair { what } => {
            let repo = open()?;
            match what {
                RepairCommand::Packs { from } => {
                    let other = Repository::open(open_location(&from)?, &password2()?)?;
                    let s = ops::repair_packs(&repo, &other, &Bar::new(hide))?;
                    print(fmt, &s, || {
                        format!(
                            "{} damaged packs, {} blobs recovered, {} unrecoverable",
                            s.damaged_packs.len(),
                            s.blobs_recovered,
                            s.blobs_unrecoverable.len()
                        )
                    })?;
                    if !s.blobs_unrecoverable.is_empty() {
                        bail!(
                            "{} blobs could not be recovered",
                            s.blobs_unrecoverable.len()
                        );
                    }
                }
                RepairCommand::Index => {
                    let (n, bad) = ops::rebuild_index(&repo, &Bar::new(hide))?;
                    print(
                        fmt,
                        &serde_json::json!({"packs": n, "unreadable": bad}),
                        || {
                            let mut t = format!("index rebuilt from {n} packs");
                            for (p, e) in &bad {
                                t.push_str(&format!("\nunreadable pack {p}: {e}"));
                            }
                            t
                        },
                    )?;
                }
            }
        }
        EmbassyCommand::Key { what } => {
            let repo = open()?;
            match what {
                KeyCommand::List => {
                    let keys = repo.list_keys()?;
                    let json: Vec<_> = keys
                        .iter()
                        .map(|(n, k)| serde_json::json!({"id": n, "current": n == repo.key_name(), "created": k.created, "hostname": k.hostname, "username": k.username}))
                        .collect();
                    print(fmt, &json, || {
                        keys.iter()
                            .map(|(n, k)| {
                                format!(
                                    "{} {} {}@{} {}",
                                    if n == repo.key_name() { "*" } else { " " },
                                    &n[..8],
                                    k.username,
                                    k.hostname,
                                    k.created.format("%Y-%m-%d %H:%M")
                                )
                            })
                            .collect::<Vec<_>>()
                            .join("\n")
                    })?;
                }
                KeyCommand::Add { new_password_file } => {
                    let pw = read_secret(
                        &new_password_file,
                        "MAKONIS_EMBASSY_NEW_PASSWORD",
                        "new password",
                    )?;
                    let id = repo.add_key(&pw, KdfParams::default())?;
                    print(fmt, &serde_json::json!({"id": id}), || {
                        format!("added key {id}")
                    })?;
                }
                KeyCommand::Remove { id } => {
                    let keys = repo.list_keys()?;
                    let matches: Vec<&String> = keys
                        .iter()
                        .map(|(n, _)| n)
                        .filter(|n| n.starts_with(&id))
                        .collect();
                    let [name] = matches.as_slice() else {
                        bail!("key id {id} matches {} keys", matches.len());
                    };
                    repo.remove_key(name)?;
                    print(fmt, &serde_json::json!({"removed": name}), || {
                        format!("removed key {name}")
                    })?;
                }
            }
        }
        EmbassyCommand::Migrate => {
            let mut repo = open()?;
            let before = repo.migrate(Duration::ZERO)?;
            let after = repo.format_version();
            print(
                fmt,
                &serde_json::json!({"from": before, "to": after}),
                || {
                    if before == after {
                        format!("repository is already at format version {after}")
                    } else {
                        format!("repository upgraded from format version {before} to {after}")
                    }
                },
            )?;
        }
        EmbassyCommand::Unlock => {
            let repo = open()?;
            let n = crate::lock::break_locks(&repo)?;
            print(fmt, &serde_json::json!({"removed": n}), || {
                format!("removed {n} locks")
            })?;
        }
    }
    Ok(())
}
