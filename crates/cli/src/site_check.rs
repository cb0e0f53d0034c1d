//! `makonis embassy site-check`: data-embassy site eligibility (EMB-1) from
//! the command line, and the `embassy` command that mounts it beside the
//! replication engine's own subcommands (`makonis_embassy::cli`).
//!
//! The engine's argument struct is reused whole: [`EmbassyEntry`] adds one
//! subcommand to the clap command it builds and routes `site-check` here,
//! everything else to the engine. `--output` is the engine's flag (same
//! values) and may stand before or after `site-check`; the engine's other
//! global flags are hidden from `site-check`, which ignores them.

use std::process::ExitCode;

use chrono::NaiveDate;
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, FromArgMatches};
use makonis_embassy::cli::{EmbassyArgs, OutputFormat};
use makonis_geo::{BORDER_DATA_SOURCE, MINIMUM_DISTANCE_KM, SiteInput, check_site};

/// Exit status when the site does not qualify.
const EXIT_INELIGIBLE: u8 = 3;
/// Exit status for input that cannot be checked.
const EXIT_BAD_INPUT: u8 = 2;

const SITE_CHECK: &str = "site-check";
/// The engine's global `--output` flag, reused.
const OUTPUT: &str = "output";

/// `makonis embassy …`: `site-check`, or one of the engine's subcommands.
#[derive(Debug)]
pub enum EmbassyEntry {
    SiteCheck(SiteCheckArgs, OutputFormat),
    Engine(EmbassyArgs),
}

impl FromArgMatches for EmbassyEntry {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        match matches.subcommand() {
            Some((SITE_CHECK, sub)) => {
                // `--output` may come before or after `site-check`.
                let given = |m: &ArgMatches| {
                    (m.value_source(OUTPUT) == Some(ValueSource::CommandLine))
                        .then(|| {
                            m.try_get_one::<OutputFormat>(OUTPUT)
                                .ok()
                                .flatten()
                                .copied()
                        })
                        .flatten()
                };
                let output = given(sub).or_else(|| given(matches)).unwrap_or_default();
                Ok(EmbassyEntry::SiteCheck(
                    SiteCheckArgs::from_arg_matches(sub)?,
                    output,
                ))
            }
            _ => Ok(EmbassyEntry::Engine(EmbassyArgs::from_arg_matches(
                matches,
            )?)),
        }
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = EmbassyEntry::from_arg_matches(matches)?;
        Ok(())
    }
}

impl Args for EmbassyEntry {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        let engine = EmbassyArgs::augment_args(cmd);
        // The struct's own help is set by its derive; this replaces it.
        let mut site_check = SiteCheckArgs::augment_args(clap::Command::new(SITE_CHECK))
            .about("Check a candidate data-embassy site against EMB-1 (no repository needed)")
            .after_help(SITE_CHECK_HELP);
        // The engine's global flags (--repo, --password-file, …) mean nothing
        // here: a local copy of each, hidden, keeps clap from propagating
        // them into this command's help. `--output` stays visible.
        for arg in engine.get_arguments().filter(|a| a.is_global_set()) {
            let local = arg.clone().global(false);
            let local = if arg.get_id() == OUTPUT {
                local.help("Output format")
            } else {
                local.hide(true)
            };
            site_check = site_check.arg(local);
        }
        engine.subcommand(site_check)
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        EmbassyEntry::augment_args(cmd)
    }
}

const SITE_CHECK_HELP: &str = "\
A site qualifies only if all hold: it is outside Latvia; it is in an EU or NATO \
member state; it holds an Uptime Institute Tier III or IV certificate valid on the \
check date; it is at least 1000 km (geodesic, WGS84) from Russia, including the \
Kaliningrad region, and from Belarus. See docs/site-eligibility.md.

Exit status: 0 eligible, 3 not eligible, 2 input that cannot be checked (the \
message names the flag).

Example: makonis embassy site-check --country PT --lat 38.7223 --lon -9.1393 \
--tier 3 --tier-valid-until 2027-12-31 --output json";

#[derive(Debug, Clone, Args)]
pub struct SiteCheckArgs {
    /// ISO 3166-1 alpha-2 code of the state the site is in, e.g. PT.
    #[arg(long)]
    pub country: String,
    /// Latitude in degrees (WGS84), -90 to 90.
    #[arg(long, allow_negative_numbers = true)]
    pub lat: f64,
    /// Longitude in degrees (WGS84), -180 to 180.
    #[arg(long, allow_negative_numbers = true)]
    pub lon: f64,
    /// Uptime Institute Tier of the site's certificate, 1 to 4; omit when it has none.
    #[arg(long, value_name = "N")]
    pub tier: Option<u8>,
    /// Last day the Tier certificate is valid (inclusive); without it a
    /// Tier III/IV certificate cannot be shown valid.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub tier_valid_until: Option<NaiveDate>,
    /// The check date (default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub today: Option<NaiveDate>,
    /// Network latency from Latvia to the site as measured by the operator, in
    /// milliseconds: echoed in the output for the record, not a criterion.
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    pub latency_ms: Option<f64>,
}

/// Runs the check, prints the verdict and returns the exit status.
pub fn run(args: &SiteCheckArgs, output: OutputFormat) -> anyhow::Result<ExitCode> {
    if let Some(ms) = args.latency_ms.filter(|ms| !(ms.is_finite() && *ms >= 0.0)) {
        eprintln!("error: --latency-ms: {ms} is not a latency in milliseconds (0 or more)");
        return Ok(ExitCode::from(EXIT_BAD_INPUT));
    }
    let input = SiteInput {
        country: args.country.clone(),
        lat: args.lat,
        lon: args.lon,
        tier: args.tier,
        tier_valid_until: args.tier_valid_until,
        today: args
            .today
            .unwrap_or_else(|| chrono::Utc::now().date_naive()),
    };
    let verdict = match check_site(&input) {
        Ok(v) => v,
        Err(e) => {
            let message = e.to_string();
            let field = e.field();
            let detail = message
                .strip_prefix(&format!("{field}: "))
                .unwrap_or(&message);
            eprintln!("error: --{}: {detail}", field.replace('_', "-"));
            return Ok(ExitCode::from(EXIT_BAD_INPUT));
        }
    };
    let country = input.country.to_ascii_uppercase();
    match output {
        OutputFormat::Json => {
            let failed: Vec<serde_json::Value> = verdict
                .failed
                .iter()
                .map(|c| {
                    let mut v = serde_json::to_value(c)?;
                    v["message"] = c.to_string().into();
                    Ok(v)
                })
                .collect::<Result<_, serde_json::Error>>()?;
            let json = serde_json::json!({
                "eligible": verdict.eligible,
                "distance_km": verdict.distance_km,
                "minimum_km": MINIMUM_DISTANCE_KM,
                "nearest_border_point": verdict.nearest_border_point,
                "failed": failed,
                "site": {
                    "country": country,
                    "lat": input.lat,
                    "lon": input.lon,
                    "tier": input.tier,
                    "tier_valid_until": input.tier_valid_until,
                    "today": input.today,
                },
                "latency_ms": args.latency_ms,
                "border_data": BORDER_DATA_SOURCE,
            });
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        OutputFormat::Text => {
            let p = verdict.nearest_border_point;
            println!(
                "site {country} {}, {}: {} (EMB-1, checked {})",
                input.lat,
                input.lon,
                if verdict.eligible {
                    "eligible"
                } else {
                    "NOT eligible"
                },
                input.today
            );
            println!(
                "  distance:        {:.1} km to {} (minimum {MINIMUM_DISTANCE_KM:.0} km)",
                verdict.distance_km,
                p.country.name()
            );
            println!(
                "  nearest point:   {:.4}, {:.4} ({})",
                p.lat,
                p.lon,
                p.country.code()
            );
            if let Some(ms) = args.latency_ms {
                println!("  latency from LV: {ms} ms (recorded, not a criterion)");
            }
            if verdict.failed.is_empty() {
                println!("  failed:          none");
            } else {
                println!("  failed:");
                for c in &verdict.failed {
                    println!("    - {}: {c}", c.code());
                }
            }
        }
    }
    Ok(if verdict.eligible {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_INELIGIBLE)
    })
}
