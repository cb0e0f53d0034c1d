//! Typed query filters (booleans, numbers) work in the API and the portal.
//! They once failed because serde cannot flatten typed query values.

mod common;

use axum::http::{Method, StatusCode};
use makonis_app::OpContext;

#[tokio::test]
async fn boolean_and_numeric_filters_are_understood() {
    let s = common::sqlite_server().await;
    let mut critical = common::system_input("CRIT");
    critical.critical_infrastructure = true;
    s.app
        .create_information_system(&OpContext::system("t"), s.a.id, &critical)
        .await
        .unwrap();

    let r = s
        .api(
            Method::GET,
            "/api/v1/information-systems?critical_infrastructure=true&limit=10",
            Some("admin"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let codes: Vec<_> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes, ["CRIT"]);
    assert_eq!(r.json()["limit"], 10);

    let r = s
        .api(
            Method::GET,
            "/api/v1/catalogue?min_vcpu=2&kind=vm&offset=0",
            Some("member"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["vcpu"].as_i64() >= Some(2))
    );
    let r = s
        .api(
            Method::GET,
            "/api/v1/catalogue?min_vcpu=64",
            Some("member"),
            None,
        )
        .await;
    assert_eq!(r.json()["total"], 0);
    let r = s
        .api(
            Method::GET,
            "/api/v1/catalogue?min_vcpu=many",
            Some("member"),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(
        r.json()["error"]["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("min_vcpu"),
        "{}",
        r.body
    );

    let page = s
        .portal(
            Method::GET,
            "/systems?critical_infrastructure=true",
            Some("admin"),
            &[],
        )
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        !page.body.contains("error-summary"),
        "the filter was not understood"
    );
    assert!(
        page.body.contains(">CRIT<") && !page.body.contains(">SYSA<"),
        "the filter was not applied"
    );
}
