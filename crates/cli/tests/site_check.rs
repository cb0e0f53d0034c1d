//! `makonis embassy site-check` end to end: the verdict for Lisbon (eligible)
//! and Riga (not), its exit statuses, JSON and text output, input errors that
//! name the flag, and the engine's own subcommands still reached beside it.

use std::process::{Command, Output};

fn makonis(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_makonis"))
        .args(args)
        .env("RUST_LOG", "error")
        .env_remove("MAKONIS_EMBASSY_REPO")
        .output()
        .expect("run makonis")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn site_check(args: &[&str]) -> Output {
    let mut all = vec!["embassy", "site-check", "--today", "2025-06-01"];
    all.extend_from_slice(args);
    makonis(&all)
}

#[test]
fn lisbon_is_eligible_and_reported_as_json() {
    let out = site_check(&[
        "--country",
        "PT",
        "--lat",
        "38.7223",
        "--lon",
        "-9.1393",
        "--tier",
        "3",
        "--tier-valid-until",
        "2027-12-31",
        "--latency-ms",
        "42.5",
        "--output",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["eligible"], true, "{v}");
    let km = v["distance_km"].as_f64().unwrap();
    assert!((2770.0..=2790.0).contains(&km), "{v}");
    assert_eq!(v["minimum_km"], 1000.0);
    assert_eq!(v["failed"], serde_json::json!([]));
    // The nearest point is the Kaliningrad region's end of the Vistula Spit.
    let p = &v["nearest_border_point"];
    assert_eq!(p["country"], "RU", "{v}");
    assert!((p["lat"].as_f64().unwrap() - 54.4572).abs() < 0.001, "{v}");
    assert!((p["lon"].as_f64().unwrap() - 19.6112).abs() < 0.001, "{v}");
    // Recorded, not judged.
    assert_eq!(v["latency_ms"], 42.5);
    assert_eq!(v["site"]["country"], "PT");
    assert_eq!(v["site"]["tier_valid_until"], "2027-12-31");
    assert_eq!(v["site"]["today"], "2025-06-01");
}

#[test]
fn riga_is_not_eligible_and_lists_every_failed_criterion() {
    let riga = [
        "--country",
        "LV",
        "--lat",
        "56.9496",
        "--lon",
        "24.1052",
        "--tier",
        "3",
        "--tier-valid-until",
        "2027-12-31",
    ];
    let out = site_check(&riga);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let shown = text(&out);
    assert!(shown.contains("NOT eligible"), "{shown}");
    assert!(shown.contains("206.2 km to Russia"), "{shown}");
    assert!(
        shown.contains("- in_latvia: the site is in Latvia; a data embassy must be abroad"),
        "{shown}"
    );
    assert!(
        shown.contains(
            "- too_close: the site is 206.2 km from Russia; at least 1000 km is required"
        ),
        "{shown}"
    );

    let mut json = riga.to_vec();
    json.extend(["--output", "json"]);
    let out = site_check(&json);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["eligible"], false);
    let codes: Vec<&str> = v["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["in_latvia", "too_close"], "{v}");
    assert_eq!(v["failed"][1]["country"], "RU");
    assert!(
        v["failed"][1]["message"]
            .as_str()
            .unwrap()
            .contains("206.2 km"),
        "{v}"
    );
    assert_eq!(v["latency_ms"], serde_json::Value::Null);

    // `--output` before the subcommand, as the engine's commands take it.
    let mut before = vec!["embassy", "--output", "json", "site-check"];
    before.extend_from_slice(&riga);
    let out = makonis(&before);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["failed"][0]["code"], "in_latvia", "{v}");
}

#[test]
fn bad_input_exits_2_naming_the_flag() {
    let out = site_check(&["--country", "PT", "--lat", "200", "--lon", "-9.1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(out.stdout.is_empty());
    assert!(
        text(&out).contains("error: --lat: 200 is not a latitude in [-90, 90] degrees"),
        "{}",
        text(&out)
    );

    let out = site_check(&["--country", "UK", "--lat", "51.5", "--lon", "-0.1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(
            "--country: \"UK\" is not an assigned ISO 3166-1 alpha-2 code (did you mean GB?)"
        ),
        "{}",
        text(&out)
    );

    let out = site_check(&[
        "--country",
        "PT",
        "--lat",
        "38.7",
        "--lon",
        "-9.1",
        "--latency-ms",
        "-5",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--latency-ms: -5"), "{}", text(&out));

    // Not a number at all: clap's own message, same exit status.
    let out = site_check(&["--country", "PT", "--lat", "north", "--lon", "-9.1"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("'--lat <LAT>'"), "{}", text(&out));
}

#[test]
fn the_engine_subcommands_are_still_there() {
    let out = makonis(&["embassy", "snapshots"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("no repository"), "{}", text(&out));

    let out = makonis(&["embassy", "--help"]);
    assert!(out.status.success());
    let help = text(&out);
    assert!(
        help.contains("site-check") && help.contains("snapshots"),
        "{help}"
    );
}
