//! Commands that act as a person: a thin client of the REST API, signed in
//! with an API token (create one in the portal under *Mans konts*). Output is
//! a table for people or `--output json` for scripts; API errors are shown
//! with every field problem.

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::{Output, OutputArg};

#[derive(Debug, Args)]
pub struct Remote {
    /// The Mākonis server.
    #[arg(
        long,
        env = "MAKONIS_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub url: String,
    /// An API token (mk_…).
    #[arg(long, env = "MAKONIS_TOKEN", hide_env_values = true, global = true)]
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CatalogueCommand {
    /// Search every provider's offerings.
    Search {
        #[command(flatten)]
        remote: Remote,
        /// Words in the offering's or provider's name.
        #[arg(long)]
        q: Option<String>,
        /// vm, volume, bucket, kubernetes, database, backup, specialised.
        #[arg(long)]
        kind: Option<String>,
        /// ISO country of the site, e.g. LV.
        #[arg(long)]
        country: Option<String>,
        #[arg(long)]
        min_vcpu: Option<i64>,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Bring a provider's offerings in line with its platform's own
    /// catalogue (Nova flavours, EC2 instance types).
    Sync {
        #[command(flatten)]
        remote: Remote,
        /// The provider's id.
        provider: String,
        /// The site the offerings are at (needed when the provider has several).
        #[arg(long)]
        site: Option<String>,
        #[command(flatten)]
        output: OutputArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum OrderCommand {
    /// Order an offering for an information system and send it for approval.
    Create {
        #[command(flatten)]
        remote: Remote,
        /// The information system's id.
        #[arg(long)]
        system: String,
        /// The offering's id (see `makonis catalogue search`).
        #[arg(long)]
        offering: String,
        #[arg(long, default_value_t = 1)]
        quantity: i64,
        #[arg(long)]
        note: Option<String>,
        /// Keep it a draft instead of submitting.
        #[arg(long)]
        draft: bool,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Approve the next step of an order that is yours to take.
    Approve {
        #[command(flatten)]
        remote: Remote,
        id: String,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Reject an order; a reason is required.
    Reject {
        #[command(flatten)]
        remote: Remote,
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Change an active order's size; the change runs at the provider in
    /// the background (see `order show`).
    Modify {
        #[command(flatten)]
        remote: Remote,
        id: String,
        /// The new number of units (at least 1).
        #[arg(long)]
        quantity: i64,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Take an active order's resources down and close it.
    Decommission {
        #[command(flatten)]
        remote: Remote,
        id: String,
        #[command(flatten)]
        output: OutputArg,
    },
    /// An order with its approvals.
    Show {
        #[command(flatten)]
        remote: Remote,
        id: String,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Orders you may see, newest first.
    List {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: OutputArg,
    },
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Client {
    fn new(remote: &Remote) -> anyhow::Result<Self> {
        let Some(token) = remote.token.clone().filter(|t| !t.trim().is_empty()) else {
            bail!(
                "no API token: pass --token or set MAKONIS_TOKEN (create one in the portal under Mans konts → API marķieri)"
            );
        };
        let base = remote.url.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--url: expected http(s)://host:port, got '{base}'");
        }
        Ok(Self {
            http: reqwest::Client::new(),
            base,
            token,
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let bytes = self.send(request).await?;
        let text = String::from_utf8_lossy(&bytes);
        Ok(serde_json::from_str(&text).unwrap_or(Value::String(text.into_owned())))
    }

    /// Sends a request; the body of a success, or the API's error with
    /// every field problem.
    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Vec<u8>> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        let status = response.status();
        let bytes = response.bytes().await.unwrap_or_default().to_vec();
        if status.is_success() {
            return Ok(bytes);
        }
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        let error = &value["error"];
        let mut message = format!(
            "{} ({}): {}",
            status.as_u16(),
            error["code"].as_str().unwrap_or("error"),
            error["message"]
                .as_str()
                .unwrap_or("the server refused the request")
        );
        for field in error["fields"].as_array().into_iter().flatten() {
            message.push_str(&format!(
                "\n  {}: {}",
                field["field"].as_str().unwrap_or("?"),
                field["message"].as_str().unwrap_or("?")
            ));
        }
        if let Some(id) = error["request_id"].as_str() {
            message.push_str(&format!("\n  request id: {id}"));
        }
        bail!(message)
    }
}

fn print(output: Output, value: &Value, text: impl FnOnce(&Value) -> String) {
    match output {
        Output::Json => println!("{value}"),
        Output::Text => println!("{}", text(value)),
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    }
}

fn order_text(o: &Value) -> String {
    let mut out = format!(
        "order {}\n  state:      {}\n  system:     {}\n  offering:   {}\n  quantity:   {}\n  monthly:    {} EUR\n  chain:      {}",
        s(&o["id"]),
        s(&o["state"]),
        s(&o["information_system_id"]),
        s(&o["offering_id"]),
        s(&o["quantity"]),
        s(&o["monthly_estimate"]),
        o["rule"]["steps"]
            .as_array()
            .map(|a| a.iter().map(s).collect::<Vec<_>>().join(" → "))
            .unwrap_or_default(),
    );
    if o["rule"]["four_eyes"].as_bool() == Some(true) {
        out.push_str(" (four eyes)");
    }
    for a in o["approvals"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n  {}: {} by {} {}",
            s(&a["step"]),
            s(&a["decision"]),
            s(&a["approver_label"]),
            a["reason"].as_str().unwrap_or("")
        ));
    }
    if let Some(pending) = o["pending_steps"].as_array().filter(|p| !p.is_empty()) {
        out.push_str(&format!(
            "\n  waiting for: {}",
            pending.iter().map(s).collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(reason) = o["reason"].as_str() {
        out.push_str(&format!("\n  reason:     {reason}"));
    }
    out
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

pub async fn catalogue(command: CatalogueCommand) -> anyhow::Result<()> {
    match command {
        CatalogueCommand::Search {
            remote,
            q,
            kind,
            country,
            min_vcpu,
            output,
        } => {
            let client = Client::new(&remote)?;
            let mut query = vec!["limit=500".to_owned()];
            for (key, value) in [
                ("q", q),
                ("kind", kind),
                ("country", country),
                ("min_vcpu", min_vcpu.map(|v| v.to_string())),
            ] {
                if let Some(v) = value {
                    query.push(format!("{key}={}", encode(&v)));
                }
            }
            let page = client
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/catalogue?{}", query.join("&")),
                    None,
                )
                .await?;
            print(output.output, &page, |p| {
                let mut out = format!(
                    "{:<36}  {:<10} {:<18} {:<28} {:>7} {:>12}",
                    "offering id", "provider", "site", "name", "avail %", "EUR/unit"
                );
                for e in p["items"].as_array().into_iter().flatten() {
                    out.push_str(&format!(
                        "\n{:<36}  {:<10} {:<18} {:<28} {:>7} {:>12}",
                        s(&e["id"]),
                        s(&e["provider_short_name"]),
                        s(&e["site_name"]),
                        s(&e["name"]).chars().take(28).collect::<String>(),
                        s(&e["sla"]["availability_pct"]),
                        s(&e["unit_price"])
                    ));
                }
                out.push_str(&format!("\n{} offerings", s(&p["total"])));
                out
            });
        }
        CatalogueCommand::Sync {
            remote,
            provider,
            site,
            output,
        } => {
            let client = Client::new(&remote)?;
            let report = client
                .call(
                    reqwest::Method::POST,
                    &format!("/api/v1/providers/{}/catalogue-sync", encode(&provider)),
                    Some(json!({ "site_id": site })),
                )
                .await?;
            print(output.output, &report, sync_text);
        }
    }
    Ok(())
}

fn sync_text(r: &Value) -> String {
    let names = |field: &str| {
        r[field]
            .as_array()
            .map(|a| a.iter().map(s).collect::<Vec<_>>().join(", "))
            .unwrap_or_default()
    };
    let mut out = format!("{}: {} unchanged", s(&r["provider"]), s(&r["unchanged"]));
    for (label, field) in [
        ("added", "added"),
        ("updated", "updated"),
        ("withdrawn (gone at the provider)", "withdrawn"),
        ("without a price in today's price list", "unpriced"),
    ] {
        let list = names(field);
        if !list.is_empty() {
            out.push_str(&format!("\n{label}: {list}"));
        }
    }
    for renamed in r["renamed"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\nrenamed: {} → {}",
            s(&renamed["from"]),
            s(&renamed["to"])
        ));
    }
    out
}

async fn decide(
    remote: &Remote,
    id: &str,
    decision: &str,
    reason: Option<String>,
    output: Output,
) -> anyhow::Result<()> {
    let client = Client::new(remote)?;
    let body = json!({ "decision": decision, "reason": reason });
    let order = client
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/orders/{}/decision", encode(id)),
            Some(body),
        )
        .await?;
    print(output, &order, order_text);
    Ok(())
}

pub async fn order(command: OrderCommand) -> anyhow::Result<()> {
    match command {
        OrderCommand::Create {
            remote,
            system,
            offering,
            quantity,
            note,
            draft,
            output,
        } => {
            let client = Client::new(&remote)?;
            let body = json!({ "information_system_id": system, "offering_id": offering, "quantity": quantity, "note": note, "submit": !draft });
            let created = client
                .call(reqwest::Method::POST, "/api/v1/orders", Some(body))
                .await?;
            print(output.output, &created, order_text);
        }
        OrderCommand::Approve {
            remote,
            id,
            reason,
            output,
        } => decide(&remote, &id, "approve", reason, output.output).await?,
        OrderCommand::Reject {
            remote,
            id,
            reason,
            output,
        } => decide(&remote, &id, "reject", Some(reason), output.output).await?,
        OrderCommand::Modify {
            remote,
            id,
            quantity,
            output,
        } => {
            let client = Client::new(&remote)?;
            let started = client
                .call(
                    reqwest::Method::POST,
                    &format!("/api/v1/orders/{}/modify", encode(&id)),
                    Some(json!({ "quantity": quantity })),
                )
                .await?;
            print(output.output, &started, |v| {
                format!("changing to {quantity} units (saga {})", s(&v["saga_id"]))
            });
        }
        OrderCommand::Decommission { remote, id, output } => {
            let client = Client::new(&remote)?;
            let started = client
                .call(
                    reqwest::Method::POST,
                    &format!("/api/v1/orders/{}/decommission", encode(&id)),
                    None,
                )
                .await?;
            print(output.output, &started, |v| {
                format!("decommissioning (saga {})", s(&v["saga_id"]))
            });
        }
        OrderCommand::Show { remote, id, output } => {
            let client = Client::new(&remote)?;
            let order = client
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/orders/{}", encode(&id)),
                    None,
                )
                .await?;
            print(output.output, &order, order_text);
        }
        OrderCommand::List { remote, output } => {
            let client = Client::new(&remote)?;
            let page = client
                .call(reqwest::Method::GET, "/api/v1/orders?limit=500", None)
                .await?;
            print(output.output, &page, |p| {
                let mut out = format!(
                    "{:<36}  {:<16} {:>4} {:>12}  created",
                    "order id", "state", "qty", "EUR/month"
                );
                for o in p["items"].as_array().into_iter().flatten() {
                    out.push_str(&format!(
                        "\n{:<36}  {:<16} {:>4} {:>12}  {}",
                        s(&o["id"]),
                        s(&o["state"]),
                        s(&o["quantity"]),
                        s(&o["monthly_estimate"]),
                        s(&o["created_at"]).chars().take(16).collect::<String>()
                    ));
                }
                out
            });
        }
    }
    Ok(())
}

#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// Import a provider's FOCUS 1.2 CSV bill. Every line is validated
    /// before anything is booked; the same file twice is refused.
    Import {
        #[command(flatten)]
        remote: Remote,
        /// The provider whose bill this is (its id).
        #[arg(long)]
        provider: String,
        /// The FOCUS 1.2 CSV file.
        file: std::path::PathBuf,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Export an institution's charges as FOCUS 1.2 CSV.
    Export {
        #[command(flatten)]
        remote: Remote,
        /// The institution's id.
        #[arg(long)]
        institution: String,
        /// First month, YYYY-MM (default: this month).
        #[arg(long)]
        from: Option<String>,
        /// Last month, YYYY-MM (default: --from).
        #[arg(long)]
        to: Option<String>,
        /// Only `focus` for now.
        #[arg(long, default_value = "focus", value_parser = ["focus"])]
        format: String,
        /// Write here instead of standard output.
        #[arg(long, short)]
        out: Option<std::path::PathBuf>,
    },
    /// Collect usage from every provider's driver now (the Broker).
    Collect {
        #[command(flatten)]
        remote: Remote,
        #[command(flatten)]
        output: OutputArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum StatementCommand {
    /// An institution's issued statements.
    List {
        #[command(flatten)]
        remote: Remote,
        #[arg(long)]
        institution: String,
        #[command(flatten)]
        output: OutputArg,
    },
    /// One statement with its lines.
    Show {
        #[command(flatten)]
        remote: Remote,
        id: String,
        #[command(flatten)]
        output: OutputArg,
    },
    /// A statement as FOCUS 1.2 CSV, plain CSV or printable HTML.
    Export {
        #[command(flatten)]
        remote: Remote,
        id: String,
        #[arg(long, default_value = "focus", value_parser = ["focus", "csv", "html"])]
        format: String,
        /// Write here instead of standard output.
        #[arg(long, short)]
        out: Option<std::path::PathBuf>,
    },
    /// Issue an institution's statement for a finished month (the Broker).
    Issue {
        #[command(flatten)]
        remote: Remote,
        #[arg(long)]
        institution: String,
        /// YYYY-MM.
        #[arg(long)]
        month: String,
        /// Why, when a version was issued before.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        output: OutputArg,
    },
}

fn month_arg(flag: &str, value: &str) -> anyhow::Result<String> {
    value
        .parse::<makonis_types::metering::Month>()
        .map(|m| m.to_string())
        .map_err(|e| anyhow::anyhow!("--{flag}: {e}"))
}

fn write_out(out: Option<&std::path::Path>, bytes: &[u8]) -> anyhow::Result<()> {
    match out {
        Some(path) => {
            // Write beside the target and rename, so a cut leaves no half file.
            let tmp = path.with_extension("partial");
            std::fs::write(&tmp, bytes)
                .with_context(|| format!("cannot write {}", tmp.display()))?;
            std::fs::rename(&tmp, path)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!("wrote {} ({} bytes)", path.display(), bytes.len());
        }
        None => {
            use std::io::Write as _;
            std::io::stdout().write_all(bytes)?;
        }
    }
    Ok(())
}

fn statement_text(v: &Value) -> String {
    let mut out = format!(
        "statement {} v{}  {}  institution {}\n  total {} EUR (exact {}), commercial {} EUR, {} charges\n  issued {}{}",
        s(&v["id"]),
        s(&v["version"]),
        s(&v["month"]),
        s(&v["institution_id"]),
        s(&v["total"]),
        s(&v["exact_total"]),
        s(&v["commercial_total"]),
        s(&v["charges"]),
        s(&v["issued_at"]),
        v["reason"]
            .as_str()
            .map(|r| format!(" — {r}"))
            .unwrap_or_default(),
    );
    for l in v["lines"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "\n  {:>3} {:<24} {:<8} {:<24} {:>12} {:>12}",
            s(&l["line_no"]),
            s(&l["information_system"])
                .chars()
                .take(24)
                .collect::<String>(),
            s(&l["provider"]),
            s(&l["service_name"]).chars().take(24).collect::<String>(),
            s(&l["amount"]),
            s(&l["commercial_amount"]),
        ));
    }
    out
}

pub async fn usage(command: UsageCommand) -> anyhow::Result<()> {
    match command {
        UsageCommand::Import {
            remote,
            provider,
            file,
            output,
        } => {
            let client = Client::new(&remote)?;
            let handle = tokio::fs::File::open(&file)
                .await
                .with_context(|| format!("cannot open {}", file.display()))?;
            let size = handle.metadata().await?.len();
            let bar = indicatif::ProgressBar::new(size);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_message("uploading");
            if output.output == Output::Json {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            let progress = bar.clone();
            let stream = futures_util::stream::unfold(handle, move |mut handle| {
                let progress = progress.clone();
                async move {
                    use tokio::io::AsyncReadExt as _;
                    let mut buf = vec![0u8; 1 << 20];
                    match handle.read(&mut buf).await {
                        Ok(0) => None,
                        Ok(n) => {
                            buf.truncate(n);
                            progress.inc(n as u64);
                            Some((Ok::<_, std::io::Error>(buf), handle))
                        }
                        Err(e) => Some((Err(e), handle)),
                    }
                }
            });
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "upload.csv".into());
            let request = client
                .http
                .post(format!(
                    "{}/api/v1/usage/imports?provider_id={}&file_name={}",
                    client.base,
                    encode(&provider),
                    encode(&name)
                ))
                .header(reqwest::header::CONTENT_TYPE, "text/csv")
                .body(reqwest::Body::wrap_stream(stream));
            let sent = client.send(request);
            let result = sent.await;
            bar.finish_and_clear();
            let bytes = result?;
            let import: Value = serde_json::from_slice(&bytes)?;
            print(output.output, &import, |v| {
                format!(
                    "imported {} ({} bytes): {} lines, {} charged, {} waiting for the Broker\n  billed {} {}, content hash {}",
                    s(&v["file_name"]),
                    s(&v["bytes"]),
                    s(&v["records"]),
                    s(&v["mapped"]),
                    s(&v["unmapped"]),
                    s(&v["billed_cost"]),
                    s(&v["billing_currency"]),
                    s(&v["content_hash"]),
                )
            });
        }
        UsageCommand::Export {
            remote,
            institution,
            from,
            to,
            format: _,
            out,
        } => {
            let client = Client::new(&remote)?;
            let mut query = Vec::new();
            if let Some(from) = from {
                query.push(format!("from={}", month_arg("from", &from)?));
            }
            if let Some(to) = to {
                query.push(format!("to={}", month_arg("to", &to)?));
            }
            let request = client.http.get(format!(
                "{}/api/v1/institutions/{}/charges/focus?{}",
                client.base,
                encode(&institution),
                query.join("&")
            ));
            let bytes = client.send(request).await?;
            write_out(out.as_deref(), &bytes)?;
        }
        UsageCommand::Collect { remote, output } => {
            let client = Client::new(&remote)?;
            let report = client
                .call(reqwest::Method::POST, "/api/v1/usage/collect", None)
                .await?;
            print(output.output, &report, |v| {
                format!(
                    "{} providers: {} charged, {} already booked, {} unmapped{}",
                    s(&v["providers"]),
                    s(&v["charged"]),
                    s(&v["duplicates"]),
                    s(&v["unmapped"]),
                    v["failures"]
                        .as_array()
                        .filter(|f| !f.is_empty())
                        .map(|f| format!(
                            "\nfailed: {}",
                            f.iter().map(s).collect::<Vec<_>>().join("; ")
                        ))
                        .unwrap_or_default()
                )
            });
        }
    }
    Ok(())
}

pub async fn statement(command: StatementCommand) -> anyhow::Result<()> {
    match command {
        StatementCommand::List {
            remote,
            institution,
            output,
        } => {
            let client = Client::new(&remote)?;
            let list = client
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/institutions/{}/statements", encode(&institution)),
                    None,
                )
                .await?;
            print(output.output, &list, |v| {
                let mut out = format!(
                    "{:<36}  {:<7} {:>3} {:>14}",
                    "statement id", "month", "v", "total EUR"
                );
                for st in v.as_array().into_iter().flatten() {
                    out.push_str(&format!(
                        "\n{:<36}  {:<7} {:>3} {:>14}",
                        s(&st["id"]),
                        s(&st["month"]),
                        s(&st["version"]),
                        s(&st["total"])
                    ));
                }
                out
            });
        }
        StatementCommand::Show { remote, id, output } => {
            let client = Client::new(&remote)?;
            let st = client
                .call(
                    reqwest::Method::GET,
                    &format!("/api/v1/statements/{}", encode(&id)),
                    None,
                )
                .await?;
            print(output.output, &st, statement_text);
        }
        StatementCommand::Export {
            remote,
            id,
            format,
            out,
        } => {
            let client = Client::new(&remote)?;
            let request = client.http.get(format!(
                "{}/api/v1/statements/{}/export?format={format}",
                client.base,
                encode(&id)
            ));
            let bytes = client.send(request).await?;
            write_out(out.as_deref(), &bytes)?;
        }
        StatementCommand::Issue {
            remote,
            institution,
            month,
            reason,
            output,
        } => {
            let client = Client::new(&remote)?;
            let body = json!({ "institution_id": institution, "month": month_arg("month", &month)?, "reason": reason });
            let st = client
                .call(reqwest::Method::POST, "/api/v1/statements", Some(body))
                .await?;
            print(output.output, &st, statement_text);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_report_reads_as_text() {
        let report = json!({
            "provider": "LVRTC-OS", "unchanged": 3,
            "added": ["m1.xl"], "updated": [], "withdrawn": ["m1.old"],
            "unpriced": ["m1.xl"],
            "renamed": [{"provider_ref": "7", "from": "m1.a", "to": "m1.b"}]
        });
        assert_eq!(
            sync_text(&report),
            "LVRTC-OS: 3 unchanged\nadded: m1.xl\nwithdrawn (gone at the provider): m1.old\n\
             without a price in today's price list: m1.xl\nrenamed: m1.a → m1.b"
        );
    }
}
