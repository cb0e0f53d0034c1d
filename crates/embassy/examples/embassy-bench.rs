//! `embassy-bench`: compare the embassy engine with restic and borg on a
//! reproducible dataset (source-like text, incompressible media, a database
//! dump, duplicated files): first backup, 1 %-changed incremental backup,
//! full restore, repository size and peak RSS, plus the single-core
//! throughput of chunk+hash+compress+encrypt.
//!
//! ```text
//! cargo run --release -p makonis-embassy --example embassy-bench -- --size 2G
//! ```
//!
//! Every tool runs as a child process under `/usr/bin/time` so wall time and
//! peak RSS are measured the same way for all three. Not part of the test
//! suite; timings never decide tests.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use makonis_embassy::chunker::Chunker;
use makonis_embassy::format::{self, BlobType};
use makonis_embassy::ops::{self, BackupOptions, RestoreOptions};
use makonis_embassy::{InitOptions, LocalBackend, NoProgress, Repository};

const PASSWORD: &str = "bench-password";

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn fill(&mut self, buf: &mut [u8]) {
        for c in buf.chunks_mut(8) {
            let v = self.next().to_le_bytes();
            c.copy_from_slice(&v[..c.len()]);
        }
    }
}

const WORDS: &[&str] = &[
    "fn",
    "let",
    "mut",
    "pub",
    "struct",
    "impl",
    "return",
    "self",
    "match",
    "Some",
    "None",
    "Ok",
    "Err",
    "use",
    "crate",
    "mod",
    "if",
    "else",
    "for",
    "while",
    "loop",
    "break",
    "continue",
    "async",
    "await",
    "const",
    "static",
    "type",
    "where",
    "trait",
    "enum",
    "String",
    "Vec",
    "HashMap",
    "Option",
    "Result",
    "usize",
    "u64",
    "i32",
    "bool",
    "true",
    "false",
    "clone",
    "unwrap",
    "iter",
    "map",
    "collect",
    "into",
    "from",
    "new",
    "default",
    "config",
    "embassy",
    "repository",
    "snapshot",
    "backup",
    "restore",
    "index",
    "pack",
    "blob",
    "tree",
    "node",
    "Latvija",
    "Rīga",
    "valsts",
    "mākonis",
    "dati",
    "pakalpojums",
    "{",
    "}",
    "(",
    ")",
    ";",
    "=",
    "->",
    "&",
    "::",
    "//",
];

fn text(rng: &mut Rng, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 64);
    let mut indent = 0usize;
    while out.len() < n {
        let r = rng.next();
        for _ in 0..indent {
            out.extend_from_slice(b"    ");
        }
        let words = 3 + (r % 9) as usize;
        let mut x = r;
        for _ in 0..words {
            out.extend_from_slice(WORDS[(x % WORDS.len() as u64) as usize].as_bytes());
            out.push(b' ');
            x = x.rotate_right(7).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
        // A number now and then, like literals in code.
        if r & 0x30 == 0 {
            out.extend_from_slice(format!("{}", r >> 40).as_bytes());
        }
        out.push(b'\n');
        indent = ((r >> 50) % 4) as usize;
    }
    out.truncate(n);
    out
}

fn sql_dump(rng: &mut Rng, n: usize, w: &mut impl Write) {
    let mut written = 0;
    let mut id = 0u64;
    let mut buf = Vec::with_capacity(1 << 20);
    while written < n {
        let r = rng.next();
        id += 1;
        let line = format!(
            "INSERT INTO persons (id, code, name, city, balance, created) VALUES ({id}, '{:06}-{:05}', '{} {}', '{}', {}.{:02}, '2024-{:02}-{:02}');\n",
            r % 1_000_000,
            (r >> 20) % 100_000,
            ["Jānis", "Anna", "Pēteris", "Līga", "Andris", "Inese"][(r >> 8) as usize % 6],
            ["Bērziņš", "Kalniņa", "Ozols", "Liepa", "Krūmiņš"][(r >> 12) as usize % 5],
            [
                "Rīga",
                "Daugavpils",
                "Liepāja",
                "Jelgava",
                "Valmiera",
                "Ventspils"
            ][(r >> 16) as usize % 6],
            (r >> 24) % 100_000,
            (r >> 44) % 100,
            1 + (r >> 52) % 12,
            1 + (r >> 56) % 28
        );
        buf.extend_from_slice(line.as_bytes());
        written += line.len();
        if buf.len() >= 1 << 20 {
            w.write_all(&buf).unwrap();
            buf.clear();
        }
    }
    w.write_all(&buf).unwrap();
}

/// Dataset shares: 35 % source text (small files), 30 % media (random),
/// 25 % one database dump, 10 % duplicates of other files.
fn generate(root: &Path, size: u64) {
    let mut rng = Rng(0x5EED_CAFE_F00D_1234);
    let text_budget = size * 35 / 100;
    let media_budget = size * 30 / 100;
    let db_budget = size * 25 / 100;
    let mut dup_sources: Vec<PathBuf> = Vec::new();
    let mut done = 0u64;
    let mut i = 0;
    while done < text_budget {
        let dir = root.join(format!("src/module{:03}/sub{:02}", i / 400, (i / 20) % 20));
        fs::create_dir_all(&dir).unwrap();
        let n = 2_000 + (rng.next() % 60_000) as usize;
        let p = dir.join(format!("file{i:06}.rs"));
        fs::write(&p, text(&mut rng, n)).unwrap();
        if i % 50 == 0 {
            dup_sources.push(p);
        }
        done += n as u64;
        i += 1;
    }
    fs::create_dir_all(root.join("media")).unwrap();
    done = 0;
    i = 0;
    while done < media_budget {
        let n = (1 << 20) + (rng.next() % (24 << 20)) as usize;
        let n = n.min((media_budget - done) as usize).max(1);
        let mut b = vec![0u8; n];
        rng.fill(&mut b);
        let p = root.join(format!("media/clip{i:04}.mp4"));
        fs::write(&p, b).unwrap();
        dup_sources.push(p);
        done += n as u64;
        i += 1;
    }
    fs::create_dir_all(root.join("db")).unwrap();
    let mut f = std::io::BufWriter::new(fs::File::create(root.join("db/dump.sql")).unwrap());
    sql_dump(&mut rng, db_budget as usize, &mut f);
    drop(f);
    fs::create_dir_all(root.join("duplicates")).unwrap();
    let dup_budget = size - text_budget - media_budget - db_budget;
    done = 0;
    let mut k = 0;
    while done < dup_budget && !dup_sources.is_empty() {
        let s = &dup_sources[(rng.next() % dup_sources.len() as u64) as usize];
        let len = fs::metadata(s).unwrap().len();
        if done + len > dup_budget + (1 << 20) {
            k += 1;
            if k > 1000 {
                break;
            }
            continue;
        }
        fs::copy(
            s,
            root.join(format!(
                "duplicates/copy{k:04}-{}",
                s.file_name().unwrap().to_string_lossy()
            )),
        )
        .unwrap();
        done += len;
        k += 1;
    }
}

/// Change about 1 % of the data: rewrite some source files, patch the dump
/// in place, add one new media file.
fn change_one_percent(root: &Path, size: u64) {
    let mut rng = Rng(0xC4A7_6E00_0000_0001);
    let target = size / 100;
    let mut changed = 0u64;
    // 0.3 % new media.
    let mut b = vec![0u8; (target * 3 / 10) as usize];
    rng.fill(&mut b);
    changed += b.len() as u64;
    fs::write(root.join("media/new-clip.mp4"), b).unwrap();
    // 0.3 % dump: overwrite a few regions in place.
    let dump = root.join("db/dump.sql");
    let mut d = fs::read(&dump).unwrap();
    let region = (target * 3 / 10 / 8).max(1) as usize;
    for _ in 0..8 {
        let at = (rng.next() % (d.len().saturating_sub(region).max(1)) as u64) as usize;
        let end = (at + region).min(d.len());
        let repl = text(&mut rng, end - at);
        d[at..end].copy_from_slice(&repl);
        changed += (end - at) as u64;
    }
    fs::write(&dump, d).unwrap();
    // The rest: rewrite source files.
    let mut files = Vec::new();
    collect(&root.join("src"), &mut files);
    files.sort();
    while changed < target && !files.is_empty() {
        let p = &files[(rng.next() % files.len() as u64) as usize];
        let n = fs::metadata(p).unwrap().len() as usize;
        fs::write(p, text(&mut rng, n)).unwrap();
        changed += n as u64;
    }
}

fn collect(p: &Path, out: &mut Vec<PathBuf>) {
    for e in fs::read_dir(p).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            collect(&e.path(), out);
        } else {
            out.push(e.path());
        }
    }
}

fn du(p: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = fs::read_dir(p) {
        for e in rd.flatten() {
            let m = e.metadata().unwrap();
            n += if m.is_dir() { du(&e.path()) } else { m.len() };
        }
    }
    n
}

#[derive(Default, Clone, Copy)]
struct Run {
    secs: f64,
    /// user + system CPU seconds: robust on a shared machine, where wall
    /// time depends on what else runs.
    cpu: f64,
    rss_mb: f64,
}

impl Run {
    /// Best of two runs (least disturbed by other load).
    fn best(self, o: Run) -> Run {
        Run {
            secs: self.secs.min(o.secs),
            cpu: self.cpu.min(o.cpu),
            rss_mb: self.rss_mb.max(o.rss_mb),
        }
    }
}

/// Run a command under GNU time; returns wall seconds and peak RSS.
fn timed(cmd: &mut Command) -> Run {
    let tf = std::env::temp_dir().join(format!("bench-time-{}", std::process::id()));
    let prog = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut t = Command::new("/usr/bin/time");
    t.arg("-f")
        .arg("%e %M %U %S")
        .arg("-o")
        .arg(&tf)
        .arg(prog)
        .args(args);
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            t.env(k, v);
        }
    }
    if let Some(d) = cmd.get_current_dir() {
        t.current_dir(d);
    }
    let st = t.stdout(std::process::Stdio::null()).status().unwrap();
    assert!(st.success(), "{cmd:?} failed");
    let s = fs::read_to_string(&tf).unwrap();
    let mut it = s.split_whitespace();
    let secs: f64 = it.next().unwrap().parse().unwrap();
    let kb: f64 = it.next().unwrap().parse().unwrap();
    let user: f64 = it.next().unwrap().parse().unwrap();
    let sys: f64 = it.next().unwrap().parse().unwrap();
    Run {
        secs,
        cpu: user + sys,
        rss_mb: kb / 1024.0,
    }
}

fn drop_caches() -> bool {
    Command::new("sync").status().ok();
    fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

struct Result_ {
    tool: &'static str,
    full: Run,
    incr: Run,
    restore: Run,
    repo: u64,
}

fn internal(args: &[String]) {
    let repo_dir = PathBuf::from(&args[1]);
    let mut backend = LocalBackend::new(&repo_dir);
    if std::env::var_os("EMBASSY_BENCH_NO_FSYNC").is_some() {
        backend = backend.without_fsync();
    }
    let threads = std::env::var("EMBASSY_BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let backend = Arc::new(backend);
    match args[0].as_str() {
        "init" => {
            Repository::init(backend, PASSWORD, InitOptions::default()).unwrap();
        }
        "backup" => {
            let repo = Repository::open(backend, PASSWORD).unwrap();
            let opts = BackupOptions {
                threads,
                ..Default::default()
            };
            let r = ops::backup(&repo, &[PathBuf::from(&args[2])], &opts, &NoProgress).unwrap();
            assert!(r.summary.errors.is_empty());
        }
        "restore" => {
            let repo = Repository::open(backend, PASSWORD).unwrap();
            let snap = repo.find_snapshot("latest").unwrap();
            let opts = RestoreOptions {
                target: PathBuf::from(&args[2]),
                ..Default::default()
            };
            let r = ops::restore(&repo, &snap, &opts, &NoProgress).unwrap();
            assert!(r.errors.is_empty(), "{:?}", r.errors);
        }
        other => panic!("unknown internal command {other}"),
    }
}

fn parse_size(s: &str) -> u64 {
    let (n, mult) = match s.chars().last() {
        Some('G' | 'g') => (&s[..s.len() - 1], 1u64 << 30),
        Some('M' | 'm') => (&s[..s.len() - 1], 1 << 20),
        Some('K' | 'k') => (&s[..s.len() - 1], 1 << 10),
        _ => (s, 1),
    };
    (n.parse::<f64>().expect("size") * mult as f64) as u64
}

/// chunk + keyed hash + compress + encrypt of `data` on this thread only.
fn single_core(data: &[u8]) -> f64 {
    let t = tempfile::tempdir().unwrap();
    let repo = Repository::init(
        Arc::new(LocalBackend::new(t.path())),
        PASSWORD,
        InitOptions {
            kdf: makonis_embassy::KdfParams::insecure_fast(),
            ..Default::default()
        },
    )
    .unwrap();
    let start = Instant::now();
    let mut ch = Chunker::new(data, repo.chunker_params(), repo.key().chunker_seed());
    let mut out = 0usize;
    while let Some(c) = ch.next_chunk().unwrap() {
        let id = repo.key().blob_id(&c);
        out += format::encode_blob(repo.key(), BlobType::Data, &id, &c, 3)
            .unwrap()
            .len();
    }
    std::hint::black_box(out);
    data.len() as f64 / start.elapsed().as_secs_f64() / 1e6
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--internal") {
        internal(&args[1..]);
        return;
    }
    let mut size = 2u64 << 30;
    let mut work = PathBuf::from("/work/bench-embassy");
    let (mut restic, mut borg, mut keep) = (true, true, false);
    let mut runs = 1usize;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--size" => {
                size = parse_size(&args[i + 1]);
                i += 1;
            }
            "--dir" => {
                work = PathBuf::from(&args[i + 1]);
                i += 1;
            }
            "--runs" => {
                runs = args[i + 1].parse().expect("--runs N");
                i += 1;
            }
            "--no-restic" => restic = false,
            "--no-borg" => borg = false,
            "--keep" => keep = true,
            "-h" | "--help" => {
                println!(
                    "embassy-bench [--size 2G] [--dir DIR] [--no-restic] [--no-borg] [--keep]"
                );
                return;
            }
            o => panic!("unknown argument {o}"),
        }
        i += 1;
    }
    let have = |bin: &str, arg: &str| {
        Command::new(bin)
            .arg(arg)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    restic &= have("restic", "version");
    borg &= have("borg", "--version");
    let _ = fs::remove_dir_all(&work);
    fs::create_dir_all(&work).unwrap();
    let data = work.join("data");
    let t0 = Instant::now();
    generate(&data, size);
    let actual = du(&data);
    eprintln!(
        "generated {:.1} MiB in {:.1}s",
        actual as f64 / 1048576.0,
        t0.elapsed().as_secs_f64()
    );

    // Prepare the incremental variant once, in a copy, so every tool sees
    // identical changes: back up `data`, then apply the change to it.
    let me = std::env::current_exe().unwrap();
    let env_home = work.join("home");
    fs::create_dir_all(&env_home).unwrap();
    let mut results: Vec<Result_> = Vec::new();
    let mut cache_note = true;

    let tools: Vec<&'static str> = ["embassy", "restic", "borg"]
        .into_iter()
        .filter(|t| *t == "embassy" || (*t == "restic" && restic) || (*t == "borg" && borg))
        .collect();
    // Each tool gets a fresh copy of the original data so the incremental
    // change is identical.
    let pristine = work.join("pristine");
    Command::new("cp")
        .arg("-a")
        .arg(&data)
        .arg(&pristine)
        .status()
        .unwrap();
    for run in 0..runs {
        for &tool in &tools {
            eprintln!("run {}/{runs}", run + 1);
            let _ = fs::remove_dir_all(&data);
            let _ = fs::remove_dir_all(work.join(format!("repo-{tool}")));
            let _ = fs::remove_dir_all(&env_home);
            fs::create_dir_all(&env_home).unwrap();
            Command::new("cp")
                .arg("-a")
                .arg(&pristine)
                .arg(&data)
                .status()
                .unwrap();
            let repo = work.join(format!("repo-{tool}"));
            let restore = work.join(format!("restore-{tool}"));
            let cmd = |args: &[&dyn AsRef<std::ffi::OsStr>]| {
                let mut c = match tool {
                    "embassy" => {
                        let mut c = Command::new(&me);
                        c.arg("--internal");
                        c
                    }
                    t => Command::new(t),
                };
                for a in args {
                    c.arg(a);
                }
                c.env("RESTIC_PASSWORD", PASSWORD)
                    .env("BORG_PASSPHRASE", PASSWORD)
                    .env("RESTIC_CACHE_DIR", env_home.join("restic-cache"))
                    .env("BORG_BASE_DIR", env_home.join("borg"))
                    .env("BORG_RELOCATED_REPO_ACCESS_IS_OK", "yes")
                    .env("BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK", "yes");
                c
            };
            eprintln!("== {tool}");
            match tool {
                "embassy" => timed(&mut cmd(&[&"init", &repo])),
                "restic" => timed(&mut cmd(&[&"init", &"--repo", &repo])),
                _ => timed(&mut cmd(&[&"init", &"--encryption=repokey-blake2", &repo])),
            };
            let mut backup =
                |c: &dyn Fn(&[&dyn AsRef<std::ffi::OsStr>]) -> Command, n: &str| -> Run {
                    cache_note &= drop_caches();
                    match tool {
                        "embassy" => timed(&mut c(&[&"backup", &repo, &data])),
                        "restic" => timed(&mut c(&[&"backup", &"--repo", &repo, &data])),
                        _ => timed(&mut c(&[
                            &"create",
                            &format!("{}::{n}", repo.display()),
                            &data,
                        ])),
                    }
                };
            let full = backup(&cmd, "first");
            eprintln!("   full backup {:.1}s", full.secs);
            change_one_percent(&data, actual);
            let incr = backup(&cmd, "second");
            eprintln!("   incremental {:.1}s", incr.secs);
            let _ = fs::remove_dir_all(&restore);
            fs::create_dir_all(&restore).unwrap();
            cache_note &= drop_caches();
            let rest = match tool {
                "embassy" => timed(&mut cmd(&[&"restore", &repo, &restore])),
                "restic" => timed(&mut cmd(&[
                    &"restore",
                    &"latest",
                    &"--repo",
                    &repo,
                    &"--target",
                    &restore,
                ])),
                _ => timed(
                    cmd(&[&"extract", &format!("{}::second", repo.display())])
                        .current_dir(&restore),
                ),
            };
            eprintln!("   restore {:.1}s", rest.secs);
            let restored = du(&restore);
            assert!(
                restored >= actual,
                "{tool} restored {restored} bytes, expected at least {actual}"
            );
            let size = du(&repo);
            match results.iter_mut().find(|r| r.tool == tool) {
                Some(r) => {
                    r.full = r.full.best(full);
                    r.incr = r.incr.best(incr);
                    r.restore = r.restore.best(rest);
                    r.repo = r.repo.min(size);
                }
                None => results.push(Result_ {
                    tool,
                    full,
                    incr,
                    restore: rest,
                    repo: size,
                }),
            }
            if !keep {
                let _ = fs::remove_dir_all(&restore);
            }
        }
    }

    // Single-core pipeline throughput on a 256 MiB sample of the data mix.
    let mut sample = Vec::new();
    let mut files = Vec::new();
    collect(&pristine, &mut files);
    files.sort();
    let step = (files.len() / 400).max(1);
    for f in files.iter().step_by(step) {
        sample.extend(fs::read(f).unwrap());
        if sample.len() > 256 << 20 {
            break;
        }
    }
    let sc = single_core(&sample);

    let cpu = fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .unwrap_or("?")
        .trim()
        .to_string();
    let cores = cpu.lines().filter(|l| l.starts_with("processor")).count();
    let mb = actual as f64 / 1e6;
    let restic_r = results
        .iter()
        .find(|r| r.tool == "restic")
        .map(|r| (r.full.secs, r.restore.secs, r.repo, r.full.rss_mb));
    println!();
    println!(
        "machine: {model}, {cores} cores; dataset {:.0} MB (35% source text, 30% random media, 25% SQL dump, 10% duplicates)",
        mb
    );
    println!(
        "page cache dropped before each run: {}",
        if cache_note {
            "yes"
        } else {
            "no (not permitted); data was cached for every tool alike"
        }
    );
    println!();
    println!("best of {runs} run(s); CPU = user+system seconds");
    println!(
        "| tool | full backup s | MB/s | CPU s | 1% incremental s | restore s | MB/s | CPU s | repo MB | repo/data | peak RSS MB (backup/restore) | backup vs restic | restore vs restic | repo vs restic |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        let (bx, rx, sx) = match restic_r {
            Some((b, rs, s, _)) => (
                format!("{:.2}×", b / r.full.secs),
                format!("{:.2}×", rs / r.restore.secs),
                format!("{:.2}", r.repo as f64 / s as f64),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "| {} | {:.1} | {:.0} | {:.1} | {:.1} | {:.1} | {:.0} | {:.1} | {:.0} | {:.2} | {:.0} / {:.0} | {} | {} | {} |",
            r.tool,
            r.full.secs,
            mb / r.full.secs,
            r.full.cpu,
            r.incr.secs,
            r.restore.secs,
            mb / r.restore.secs,
            r.restore.cpu,
            r.repo as f64 / 1e6,
            r.repo as f64 / actual as f64,
            r.full.rss_mb.max(r.incr.rss_mb),
            r.restore.rss_mb,
            bx,
            rx,
            sx
        );
    }
    let ours = &results[0];
    println!();
    println!(
        "single-core chunk+hash+compress+encrypt: {sc:.0} MB/s; engine full backup {:.0} MB/s = {:.0}% of single-core × {cores} cores",
        mb / ours.full.secs,
        100.0 * (mb / ours.full.secs) / (sc * cores as f64)
    );
    if !keep {
        let _ = fs::remove_dir_all(&work);
    }
}
