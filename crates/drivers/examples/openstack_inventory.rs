//! Benchmark (issue #6): inventory sync of an OpenStack project with N
//! servers (default 1000) on the local peer. Makes a project of its own,
//! fills it with N `m1.tiny` servers in groups of up to 200 through the
//! driver, waits until Nova reports them ACTIVE, then times what a sync
//! reads — every server (`list`), the flavours with their room
//! (`offerings`) and the capacity — with a fresh driver, and prints the
//! time, the API calls it made and the process's peak memory. Cleans up.
//!
//!   cargo run --release -p makonis-drivers --example openstack_inventory -- [N]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use makonis_drivers::openstack::{LocalPeer, OpenStackDriver};
use makonis_drivers::{Driver, ResourceSpec, ResourceStatus};
use makonis_types::catalogue::OfferingKind;

fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: i64 = std::env::args().nth(1).map_or(Ok(1000), |a| a.parse())?;
    let shared = LocalPeer::read(&LocalPeer::dir())?;
    let peer = shared.isolated_project("makonis-bench").await?;
    let outcome = run(&peer, n).await;
    // Servers first, then the project, whatever happened.
    let cleanup = OpenStackDriver::new(peer.config("BENCH")?)?;
    for r in cleanup.list().await.unwrap_or_default() {
        let _ = cleanup.delete(&r.id).await;
    }
    for _ in 0..600 {
        if cleanup.list().await.map(|l| l.is_empty()).unwrap_or(true) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    peer.remove_project().await?;
    outcome
}

async fn run(peer: &LocalPeer, n: i64) -> Result<(), Box<dyn std::error::Error>> {
    peer.set_compute_quota(serde_json::json!({
        "instances": n + 10, "cores": n + 10, "ram": (n + 10) * 512
    }))
    .await?;
    let filler = OpenStackDriver::new(peer.config("BENCH")?)?;
    let started = Instant::now();
    let mut left = n;
    let mut groups = Vec::new();
    while left > 0 {
        let size = left.min(200);
        let key = format!("bench-{}", &uuid::Uuid::now_v7().simple().to_string()[16..]);
        filler
            .create(&ResourceSpec {
                idempotency_key: key.clone(),
                site: "RegionOne".into(),
                kind: OfferingKind::Vm,
                offering: "m1.tiny".into(),
                quantity: size,
                tags: BTreeMap::new(),
            })
            .await?;
        groups.push(key);
        left -= size;
    }
    loop {
        let list = filler.list().await?;
        let active: i64 = list
            .iter()
            .filter(|r| r.status == ResourceStatus::Active)
            .map(|r| r.quantity)
            .sum();
        if list.iter().any(|r| r.status == ResourceStatus::Error) {
            return Err("a server went into ERROR while filling the project".into());
        }
        if active == n {
            break;
        }
        if started.elapsed() > Duration::from_secs(1800) {
            return Err(format!("only {active} of {n} servers ACTIVE after 30 min").into());
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    eprintln!(
        "filled: {n} servers ACTIVE in {:.0} s",
        started.elapsed().as_secs_f64()
    );

    let mut best = f64::MAX;
    let mut calls = 0;
    for _ in 0..3 {
        let driver = OpenStackDriver::new(peer.config("BENCH")?)?;
        let t = Instant::now();
        let resources = driver.list().await?;
        let listed = t.elapsed().as_secs_f64();
        let offerings = driver.offerings().await?;
        let capacity = driver.capacity().await?;
        let seconds = t.elapsed().as_secs_f64();
        eprintln!(
            "sync: {seconds:.2} s (servers {listed:.2} s with the token, flavours and capacity {:.2} s)",
            seconds - listed
        );
        let servers: i64 = resources.iter().map(|r| r.quantity).sum();
        assert_eq!(servers, n, "the sync saw every server");
        assert!(!offerings.is_empty() && !capacity.is_empty());
        if seconds < best {
            best = seconds;
            calls = driver.api_calls();
        }
    }
    println!("servers           {n}");
    println!("inventory sync    {best:.2} s (best of 3; goal < 10 s)");
    println!("API calls         {calls}");
    println!("peak RSS          {:.0} MB", peak_rss_mb());
    Ok(())
}
