//! `makonis catalogue` and `makonis order` against a running server, with
//! API tokens of real (demo) people: search, order, approve, show, and the
//! errors a person sees when something is wrong.

use std::process::Output;

use makonis_app::secrets::SecretBox;
use makonis_app::{App, AppConfig};
use makonis_demo::DEMO_PASSWORD;
use makonis_types::token::{NewApiTokenInput, TokenScope};

async fn token(app: &App, email: &str) -> String {
    let ctx = app
        .login_with_password("t", email, DEMO_PASSWORD, "127.0.0.1")
        .await
        .unwrap()
        .view
        .ctx;
    app.create_api_token(
        &ctx,
        &NewApiTokenInput {
            name: "cli".into(),
            scope: TokenScope::Write,
            expires_in_days: Some(1),
        },
    )
    .await
    .unwrap()
    .secret
}

async fn makonis(url: &str, token: &str, args: &[&str]) -> Output {
    let (url, token) = (url.to_owned(), token.to_owned());
    let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_makonis"))
            .args(&args)
            .env("MAKONIS_URL", url)
            .env("MAKONIS_TOKEN", token)
            .env("RUST_LOG", "error")
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn ok_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn catalogue_search_order_approve_and_show() {
    let store = makonis_db::testing::sqlite().await;
    // The simulator's providers keep their state here.
    let state = tempfile::tempdir().unwrap();
    let app = App::new(
        store.datastore.clone(),
        SecretBox::random(),
        AppConfig {
            state_dir: Some(state.path().to_owned()),
            ..AppConfig::default()
        },
    );
    makonis_demo::seed(&app).await.unwrap();
    let member = token(&app, "darbinieks@vid.gov.lv").await;
    let owner = token(&app, "parzinis@vid.gov.lv").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = makonis_server::router(app.clone(), makonis_server::ServerConfig::default());
    tokio::spawn(makonis_server::serve(
        listener,
        router,
        std::future::pending(),
    ));

    let found = ok_json(
        &makonis(
            &url,
            &member,
            &[
                "catalogue",
                "search",
                "--kind",
                "vm",
                "--country",
                "LV",
                "--min-vcpu",
                "4",
                "--output",
                "json",
            ],
        )
        .await,
    );
    let items = found["items"].as_array().unwrap();
    assert!(
        !items.is_empty() && items.iter().all(|e| e["vcpu"].as_i64() >= Some(4)),
        "{found}"
    );
    let offering = items
        .iter()
        .find(|e| {
            e["provider_short_name"] == "LVRTC"
                && e["site_name"] == "Ulbroka"
                && e["name"].as_str().unwrap().starts_with("m1.medium")
        })
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = makonis(&url, &member, &["catalogue", "search", "--q", "PostgreSQL"]).await;
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert!(
        text.contains("PostgreSQL pārvaldīta") && text.contains("offerings"),
        "{text}"
    );

    // A provider's own catalogue: LVRTC runs on the simulator, which has
    // none to sync, and the CLI says so; a customer may not sync at all.
    let sys = makonis_app::OpContext::system("t");
    let lvrtc = app
        .list_providers(&sys)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.short_name == "LVRTC")
        .unwrap()
        .id;
    let ulbroka = app
        .get_provider(&sys, lvrtc, chrono::Utc::now().date_naive())
        .await
        .unwrap()
        .sites
        .into_iter()
        .find(|s| s.name == "Ulbroka")
        .unwrap()
        .id
        .to_string();
    let lvrtc = lvrtc.to_string();
    // LVRTC has several sites: the CLI passes on which one is meant.
    let sync = ["catalogue", "sync", &lvrtc, "--site", &ulbroka];
    let operator = token(&app, "operators@lvrtc.lv").await;
    let out = makonis(&url, &operator, &sync).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("LVRTC: the provider reports no catalogue to sync"),
        "{err}"
    );
    let out = makonis(&url, &member, &sync).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("403"), "{err}");

    let systems = app
        .list_information_systems(
            &makonis_app::OpContext::system("t"),
            &makonis_types::information_system::InformationSystemFilter {
                q: Some("NRS".into()),
                ..Default::default()
            },
            Default::default(),
        )
        .await
        .unwrap();
    let nrs = systems
        .items
        .iter()
        .find(|s| s.code == "NRS")
        .unwrap()
        .id
        .to_string();

    let created = ok_json(
        &makonis(
            &url,
            &member,
            &[
                "order",
                "create",
                "--system",
                &nrs,
                "--offering",
                &offering,
                "--quantity",
                "2",
                "--output",
                "json",
            ],
        )
        .await,
    );
    assert_eq!(created["state"], "approving", "{created}");
    let id = created["id"].as_str().unwrap().to_owned();

    // The requester cannot approve; the IS owner can.
    let refused = makonis(&url, &member, &["order", "approve", &id]).await;
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr)
            .contains("403 (forbidden): nobody approves their own order"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let approved = ok_json(
        &makonis(
            &url,
            &owner,
            &[
                "order",
                "approve",
                &id,
                "--reason",
                "Testa vide vajadzīga",
                "--output",
                "json",
            ],
        )
        .await,
    );
    assert_eq!(approved["state"], "approved", "{approved}");

    let shown = makonis(&url, &member, &["order", "show", &id]).await;
    let shown = String::from_utf8_lossy(&shown.stdout).into_owned();
    assert!(
        shown.contains("state:      approved")
            && shown.contains("institution: approve by parzinis@vid.gov.lv Testa vide vajadzīga"),
        "{shown}"
    );
    let listed = ok_json(&makonis(&url, &member, &["order", "list", "--output", "json"]).await);
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["id"] == id.as_str())
    );

    // Errors a person can act on.
    let bad = makonis(
        &url,
        &member,
        &[
            "order",
            "create",
            "--system",
            &nrs,
            "--offering",
            "01a1fea4-e5f3-74f0-90a0-000000000000",
        ],
    )
    .await;
    let stderr = String::from_utf8_lossy(&bad.stderr).into_owned();
    assert!(
        !bad.status.success()
            && stderr.contains("422 (invalid_input)")
            && stderr.contains("offering_id: no such offering"),
        "{stderr}"
    );
    let forged = makonis(&url, "mk_forged", &["order", "list"]).await;
    assert!(String::from_utf8_lossy(&forged.stderr).contains("401 (unauthenticated)"));
    let no_token = makonis(&url, "", &["order", "list"]).await;
    assert!(String::from_utf8_lossy(&no_token.stderr).contains("no API token"));
    let no_reason = makonis(&url, &owner, &["order", "reject", &id]).await;
    assert!(
        String::from_utf8_lossy(&no_reason.stderr).contains("--reason"),
        "clap names the missing flag"
    );
}

/// A one-line FOCUS 1.2 bill for VID last month (mapped by SubAccountId).
fn bill(amount: &str, currency: &str) -> String {
    let month = makonis_types::metering::Month::of(chrono::Utc::now()).previous();
    let (start, end) = (
        month.start().format("%Y-%m-%dT%H:%M:%SZ"),
        month.end().format("%Y-%m-%dT%H:%M:%SZ"),
    );
    format!(
        "BilledCost,BillingAccountId,BillingAccountName,BillingCurrency,BillingPeriodEnd,BillingPeriodStart,\
         ChargeCategory,ChargeClass,ChargeDescription,ChargePeriodEnd,ChargePeriodStart,ContractedCost,\
         EffectiveCost,InvoiceIssuerName,ListCost,PricingQuantity,PricingUnit,ProviderName,PublisherName,\
         ServiceCategory,ServiceName,SubAccountId\n\
         {amount},LVRTC-1,LVRTC,{currency},{end},{start},Usage,,Object storage,{end},{start},{amount},{amount},LVRTC,\
         {amount},100,GB-Months,LVRTC,LVRTC,Storage,Object storage,VID\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_import_and_statements_through_the_cli() {
    let store = makonis_db::testing::sqlite().await;
    let app = App::new(
        store.datastore.clone(),
        SecretBox::random(),
        AppConfig::default(),
    );
    makonis_demo::seed(&app).await.unwrap();
    let broker = token(&app, "brokeris@vdaa.gov.lv").await;
    let member = token(&app, "darbinieks@vid.gov.lv").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = makonis_server::router(app.clone(), makonis_server::ServerConfig::default());
    tokio::spawn(makonis_server::serve(
        listener,
        router,
        std::future::pending(),
    ));
    let sys = makonis_app::OpContext::system("t");
    let lvrtc = app
        .list_providers(&sys)
        .await
        .unwrap()
        .into_iter()
        .find(|p| p.short_name == "LVRTC")
        .unwrap()
        .id
        .to_string();
    let dir = tempfile::tempdir().unwrap();

    // A bad currency is named by file, line and column; nothing is booked.
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, bill("12.34", "USD")).unwrap();
    let out = makonis(
        &url,
        &broker,
        &[
            "usage",
            "import",
            "--provider",
            &lvrtc,
            bad.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.csv: line 2, column BillingCurrency"),
        "{err}"
    );

    let good = dir.path().join("lvrtc-bill.csv");
    std::fs::write(&good, bill("12.34", "EUR")).unwrap();
    // Members cannot import.
    let out = makonis(
        &url,
        &member,
        &[
            "usage",
            "import",
            "--provider",
            &lvrtc,
            good.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!out.status.success());
    let imported = ok_json(
        &makonis(
            &url,
            &broker,
            &[
                "usage",
                "import",
                "--provider",
                &lvrtc,
                good.to_str().unwrap(),
                "--output",
                "json",
            ],
        )
        .await,
    );
    assert_eq!(
        (imported["records"].as_i64(), imported["mapped"].as_i64()),
        (Some(1), Some(1)),
        "{imported}"
    );
    assert_eq!(imported["file_name"], "lvrtc-bill.csv");
    let out = makonis(
        &url,
        &broker,
        &[
            "usage",
            "import",
            "--provider",
            &lvrtc,
            good.to_str().unwrap(),
        ],
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("would charge twice"));

    let vid = app
        .list_institutions(&sys, Some("VID"), Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|i| i.short_name == "VID")
        .unwrap()
        .id
        .to_string();
    let month = makonis_types::metering::Month::of(chrono::Utc::now())
        .previous()
        .to_string();
    let out = makonis(
        &url,
        &broker,
        &[
            "statement",
            "issue",
            "--institution",
            &vid,
            "--month",
            "2026-13",
        ],
    )
    .await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("--month: '2026-13' is not a month"));
    let issued = ok_json(
        &makonis(
            &url,
            &broker,
            &[
                "statement",
                "issue",
                "--institution",
                &vid,
                "--month",
                &month,
                // The demo issued version 1; this bill came later.
                "--reason",
                "LVRTC bill imported late",
                "--output",
                "json",
            ],
        )
        .await,
    );
    let id = issued["id"].as_str().unwrap().to_owned();
    assert_eq!(issued["version"], 2, "{issued}");
    let total: rust_decimal::Decimal = issued["total"].as_str().unwrap().parse().unwrap();
    assert!(total >= "12.34".parse().unwrap(), "{issued}");
    let shown = makonis(&url, &member, &["statement", "show", &id]).await;
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        text.contains("Object storage") && text.contains(&month),
        "{text}"
    );
    let focus = dir.path().join("statement.csv");
    let out = makonis(
        &url,
        &member,
        &[
            "statement",
            "export",
            &id,
            "--format",
            "focus",
            "--out",
            focus.to_str().unwrap(),
        ],
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(&focus).unwrap();
    assert!(
        csv.starts_with("BilledCost,BillingAccountId,") && csv.contains("Object storage"),
        "{csv}"
    );
    let export = makonis(
        &url,
        &member,
        &["usage", "export", "--institution", &vid, "--from", &month],
    )
    .await;
    assert!(String::from_utf8_lossy(&export.stdout).contains("12.34"));
}
