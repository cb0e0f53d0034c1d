//! Contract tests of the OpenStack driver's Cinder and Neutron code against
//! the official API reference samples, because neither service runs on the
//! development machine. The samples are read where they are kept, next to
//! the repository (`../shared/data/openstack-api-samples`, or
//! `MAKONIS_OPENSTACK_SAMPLES`), never copied in; without them the tests
//! skip, or fail when `MAKONIS_REQUIRE_PEERS=1`. Every parse asserts values
//! that are in the sample file, and every request body is compared key by
//! key with the published request sample.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use chrono::{DateTime, TimeZone, Utc};
use makonis_drivers::openstack::cinder::{self, ExtendPlan, VolumeStatus};
use makonis_drivers::openstack::neutron::{self, NetworkStatus};
use makonis_drivers::{DriverError, ResourceSpec, ResourceStatus};
use makonis_types::catalogue::OfferingKind;
use serde_json::Value;

/// Where the samples are: `MAKONIS_OPENSTACK_SAMPLES`, else `../shared`
/// next to this checkout, else the project's own `../shared` at
/// `/work/shared` (a clone elsewhere, as CI makes, has no neighbour).
fn samples_dir() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("MAKONIS_OPENSTACK_SAMPLES") {
        Some(dir) => vec![PathBuf::from(dir)],
        None => vec![
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../../shared/data/openstack-api-samples"),
            PathBuf::from("/work/shared/data/openstack-api-samples"),
        ],
    };
    if let Some(dir) = candidates.iter().find(|d| d.is_dir()) {
        return Some(dir.clone());
    }
    let msg = format!(
        "the OpenStack API samples are not at {} (set MAKONIS_OPENSTACK_SAMPLES to where \
         cinder-v3/ and neutron-v2/ are)",
        candidates
            .iter()
            .map(|d| d.display().to_string())
            .collect::<Vec<_>>()
            .join(" or ")
    );
    if std::env::var("MAKONIS_REQUIRE_PEERS").as_deref() == Ok("1") {
        panic!("{msg}; MAKONIS_REQUIRE_PEERS=1 requires them");
    }
    eprintln!("skipping: {msg}");
    None
}

/// A sample's text; `None` (skip) only when the whole folder is missing. A
/// file missing from a folder that is there is a failure.
fn sample(rel: &str) -> Option<String> {
    let path = samples_dir()?.join(rel);
    Some(
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("sample {} unreadable: {e}", path.display())),
    )
}

fn json(text: &str) -> Value {
    serde_json::from_str(text).expect("sample is JSON")
}

/// The sample, changed by `f`.
fn altered(text: &str, f: impl FnOnce(&mut Value)) -> String {
    let mut v = json(text);
    f(&mut v);
    v.to_string()
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every key path of a JSON value (`volume.size`; array elements as
/// `tags[]`) with its JSON type. `opaque` paths are free-form maps whose
/// keys are data (volume metadata), so only the map itself counts.
fn shape(v: &Value, opaque: &[&str]) -> BTreeMap<String, &'static str> {
    fn walk(v: &Value, path: &str, opaque: &[&str], out: &mut BTreeMap<String, &'static str>) {
        if !path.is_empty() {
            let entry = out.entry(path.to_owned()).or_insert(kind(v));
            if *entry == "null" {
                *entry = kind(v);
            }
            if opaque.contains(&path) {
                return;
            }
        }
        match v {
            Value::Object(m) => {
                for (k, child) in m {
                    let p = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    walk(child, &p, opaque, out);
                }
            }
            Value::Array(items) => {
                for child in items {
                    walk(child, &format!("{path}[]"), opaque, out);
                }
            }
            _ => {}
        }
    }
    let mut out = BTreeMap::new();
    walk(v, "", opaque, &mut out);
    out
}

/// Every key we send is at the same path in the published sample, with the
/// same JSON type where the sample's value is not null; and the sample's
/// keys we do not send are exactly `unsent`, so a new key in either is
/// noticed.
fn assert_same_shape(built: &Value, sample: &Value, opaque: &[&str], unsent: &[&str]) {
    let ours = shape(built, opaque);
    let theirs = shape(sample, opaque);
    for (path, k) in &ours {
        let Some(t) = theirs.get(path) else {
            panic!("we send '{path}', the request sample has no such key; sample keys: {theirs:?}");
        };
        assert!(
            *t == "null" || t == k,
            "'{path}' is {k} in our body and {t} in the sample"
        );
    }
    let missing: BTreeSet<&str> = theirs
        .keys()
        .filter(|p| !ours.contains_key(*p))
        .map(String::as_str)
        .collect();
    assert_eq!(missing, unsent.iter().copied().collect::<BTreeSet<_>>());
}

fn spec() -> ResourceSpec {
    ResourceSpec {
        idempotency_key: "ord-7f3a-vol-1".into(),
        site: "riga-1".into(),
        kind: OfferingKind::Volume,
        offering: "vol-type-001".into(),
        quantity: 10,
        tags: BTreeMap::from([
            ("order".to_owned(), "7f3a".to_owned()),
            ("is".to_owned(), "VID-12".to_owned()),
        ]),
    }
}

fn invalid_message(e: impl Into<DriverError>) -> String {
    match e.into() {
        DriverError::Invalid(m) => m,
        other => panic!("expected Invalid, got {other:?}"),
    }
}

// ---------------------------------------------------------------- Cinder

const SHOW_ID: &str = "f7223234-1afc-4d19-bfa3-d19deb6235ef";

#[test]
fn cinder_volume_create_body_has_the_request_sample_shape() {
    let Some(text) = sample("cinder-v3/volumes/volume-create-request.json") else {
        return;
    };
    let body =
        serde_json::to_value(cinder::volume_create_body(&spec(), Some("nova")).unwrap()).unwrap();
    assert_same_shape(
        &body,
        &json(&text),
        &["volume.metadata"],
        &[
            "volume.source_volid",
            "volume.description",
            "volume.multiattach",
            "volume.snapshot_id",
            "volume.backup_id",
            "volume.imageRef",
            "volume.consistencygroup_id",
            "OS-SCH-HNT:scheduler_hints",
            "OS-SCH-HNT:scheduler_hints.same_host",
            "OS-SCH-HNT:scheduler_hints.same_host[]",
        ],
    );
    assert_eq!(body["volume"]["size"], 10);
    assert_eq!(body["volume"]["name"], "ord-7f3a-vol-1");
    assert_eq!(body["volume"]["volume_type"], "vol-type-001");
    assert_eq!(body["volume"]["availability_zone"], "nova");
    assert_eq!(body["volume"]["metadata"]["makonis-key"], "ord-7f3a-vol-1");
    assert_eq!(body["volume"]["metadata"]["makonis-site"], "riga-1");
    assert_eq!(body["volume"]["metadata"]["is"], "VID-12");

    // Without a zone the key is left out (Cinder picks), not sent as null.
    let body = serde_json::to_value(cinder::volume_create_body(&spec(), None).unwrap()).unwrap();
    assert!(body["volume"].get("availability_zone").is_none());
}

#[test]
fn cinder_volume_create_body_refuses_what_cinder_would() {
    let mut s = spec();
    s.quantity = 0;
    assert!(invalid_message(cinder::volume_create_body(&s, None).unwrap_err()).contains("1 GB"));
    let mut s = spec();
    s.kind = OfferingKind::Vm;
    assert!(cinder::volume_create_body(&s, None).is_err());
    let mut s = spec();
    s.offering = String::new();
    assert!(invalid_message(cinder::volume_create_body(&s, None).unwrap_err()).contains("type"));
    let mut s = spec();
    s.tags.insert("long".into(), "x".repeat(256));
    assert!(invalid_message(cinder::volume_create_body(&s, None).unwrap_err()).contains("255"));
    // The key and site cannot be overridden by tags of the same name.
    let mut s = spec();
    s.tags.insert("makonis-key".into(), "other".into());
    let body = cinder::volume_create_body(&s, None).unwrap();
    assert_eq!(body.volume.metadata["makonis-key"], "ord-7f3a-vol-1");
}

#[test]
fn cinder_volume_create_response() {
    let Some(text) = sample("cinder-v3/volumes/volume-create-response.json") else {
        return;
    };
    let v = cinder::parse_volume(&text).unwrap();
    assert_eq!(v.id, "2b955850-f177-45f7-9f49-ecb2c256d161");
    assert_eq!(v.size_gb, 10);
    assert_eq!(v.status, VolumeStatus::Creating);
    assert_eq!(v.volume_type.as_deref(), Some("__DEFAULT__"));
    assert_eq!(v.availability_zone.as_deref(), Some("nova"));
    assert_eq!(v.name, None);
    assert!(v.metadata.is_empty());
    // Cinder writes UTC without an offset.
    assert_eq!(v.created_at, utc("2018-11-28T06:21:12.715987Z"));
    assert_eq!(v.updated_at, None);
    assert!(v.attached_to.is_empty());

    let r = v.resource().unwrap();
    assert_eq!(r.id, "2b955850-f177-45f7-9f49-ecb2c256d161");
    assert_eq!(r.kind, OfferingKind::Volume);
    assert_eq!(r.quantity, 10);
    assert_eq!(r.offering, "__DEFAULT__");
    assert_eq!(r.status, ResourceStatus::Building);
    // No metadata: the site falls back to the zone; no key at all.
    assert_eq!(r.site, "nova");
    assert_eq!(r.idempotency_key, "");
}

#[test]
fn cinder_volume_show_plain_and_at_microversion_3_69() {
    for rel in [
        "cinder-v3/volumes/volume-show-response.json",
        "cinder-v3/volumes/v3.69/volume-show-response.json",
    ] {
        let Some(text) = sample(rel) else { return };
        let v = cinder::parse_volume(&text).unwrap();
        assert_eq!(v.id, SHOW_ID, "{rel}");
        assert_eq!(v.size_gb, 10);
        assert_eq!(v.status, VolumeStatus::Creating);
        assert_eq!(
            v.project_id.as_deref(),
            Some("89afd400-b646-4bbc-b12b-c0a4d63e5bd3")
        );
        assert_eq!(v.created_at, utc("2018-11-29T06:50:07.770785Z"));
    }
}

#[test]
fn cinder_volume_detail_lists() {
    for rel in [
        "cinder-v3/volumes/volumes-list-detailed-response.json",
        "cinder-v3/volumes/v3.69/volumes-list-detailed-response.json",
    ] {
        let Some(text) = sample(rel) else { return };
        let list = cinder::parse_volume_details(&text).unwrap();
        assert_eq!(list.next, None);
        assert_eq!(list.volumes.len(), 1, "{rel}");
        let v = &list.volumes[0];
        assert_eq!(v.id, "cb49b381-9012-40cb-b8ee-80c19a4801b5");
        assert_eq!(v.created_at, utc("2018-11-28T06:25:15.288987Z"));
        let resources = cinder::volumes_to_resources(&list.volumes);
        assert_eq!(resources.len(), 1);
        assert_eq!(resources[0].id, v.id);
        assert_eq!(resources[0].quantity, 10);
    }
}

#[test]
fn cinder_volume_plain_list() {
    let Some(text) = sample("cinder-v3/volumes/volumes-list-response.json") else {
        return;
    };
    let refs = cinder::parse_volume_refs(&text).unwrap();
    assert_eq!(refs.len(), 1);
    assert_eq!(refs[0].id, "efa54464-8fab-47cd-a05a-be3e6b396188");
    assert_eq!(refs[0].name, None);
    // The plain list has no sizes or statuses: it cannot be read as details.
    let e = cinder::parse_volume_details(&text).unwrap_err();
    assert_eq!(e.field(), Some("size"));
}

#[test]
fn cinder_metadata_written_at_create_is_read_back() {
    let Some(text) = sample("cinder-v3/volumes/volume-show-response.json") else {
        return;
    };
    let created = cinder::volume_create_body(&spec(), None).unwrap();
    let meta = serde_json::to_value(&created.volume.metadata).unwrap();
    let text = altered(&text, |v| {
        v["volume"]["metadata"] = meta;
        v["volume"]["name"] = "ord-7f3a-vol-1".into();
        v["volume"]["volume_type"] = "vol-type-001".into();
        v["volume"]["status"] = "available".into();
    });
    let v = cinder::parse_volume(&text).unwrap();
    let r = v.resource().unwrap();
    let s = spec();
    assert_eq!(r.idempotency_key, s.idempotency_key);
    assert_eq!(r.site, s.site);
    assert_eq!(r.offering, s.offering);
    assert_eq!(r.quantity, s.quantity);
    assert_eq!(r.tags, s.tags);
    assert_eq!(r.status, ResourceStatus::Active);

    let found = [v.clone()];
    assert_eq!(
        cinder::find_by_key(&found, "ord-7f3a-vol-1").map(|v| &v.id),
        Some(&v.id)
    );
    assert!(cinder::find_by_key(&found, "ord-other").is_none());
    assert!(cinder::find_by_key(&found, "").is_none());
}

#[test]
fn cinder_deleting_volumes_do_not_exist() {
    let Some(text) = sample("cinder-v3/volumes/volumes-list-detailed-response.json") else {
        return;
    };
    let text = altered(&text, |v| {
        v["volumes"][0]["status"] = "deleting".into();
        v["volumes"][0]["name"] = "ord-1".into();
    });
    let list = cinder::parse_volume_details(&text).unwrap();
    assert_eq!(list.volumes[0].status, VolumeStatus::Deleting);
    assert!(list.volumes[0].resource().is_none());
    assert!(cinder::volumes_to_resources(&list.volumes).is_empty());
    assert!(cinder::find_by_key(&list.volumes, "ord-1").is_none());
}

#[test]
fn cinder_status_mapping() {
    use ResourceStatus::*;
    let cases = [
        ("creating", Some(Building)),
        ("downloading", Some(Building)),
        ("extending", Some(Building)),
        ("reserved", Some(Building)),
        ("attaching", Some(Building)),
        ("detaching", Some(Building)),
        ("retyping", Some(Building)),
        ("backing-up", Some(Building)),
        ("available", Some(Active)),
        ("in-use", Some(Active)),
        ("error", Some(Error)),
        ("error_extending", Some(Error)),
        ("error_deleting", Some(Error)),
        ("error_backing-up", Some(Error)),
        ("error_restoring", Some(Error)),
        ("error_managing", Some(Error)),
        ("deleting", None),
        ("some-new-state", Some(Building)),
    ];
    for (s, want) in cases {
        let st = VolumeStatus::parse(s);
        assert_eq!(st.as_str(), s);
        assert_eq!(st.resource_status(), want, "{s}");
    }
}

#[test]
fn cinder_extend_body_is_the_request_sample() {
    let Some(text) = sample("cinder-v3/volume-extend-request.json") else {
        return;
    };
    let body = serde_json::to_value(cinder::volume_extend_body(3)).unwrap();
    assert_same_shape(&body, &json(&text), &[], &[]);
    // The sample's own value is 3, so here the bodies are equal outright.
    assert_eq!(body, json(&text));
}

#[test]
fn cinder_extend_plan() {
    let Some(text) = sample("cinder-v3/volumes/volume-show-response.json") else {
        return;
    };
    let creating = cinder::parse_volume(&text).unwrap();
    assert_eq!(
        cinder::plan_extend(&creating, 10).unwrap(),
        ExtendPlan::AlreadyThatSize
    );
    let busy = cinder::plan_extend(&creating, 20).unwrap_err();
    assert!(busy.is_transient(), "{busy:?}");
    assert!(
        matches!(cinder::plan_extend(&creating, 5), Err(DriverError::Invalid(m)) if m.contains("shrink"))
    );

    let available = cinder::parse_volume(&altered(&text, |v| {
        v["volume"]["status"] = "available".into()
    }))
    .unwrap();
    assert_eq!(
        cinder::plan_extend(&available, 20).unwrap(),
        ExtendPlan::Extend(cinder::volume_extend_body(20))
    );
    let broken =
        cinder::parse_volume(&altered(&text, |v| v["volume"]["status"] = "error".into())).unwrap();
    assert!(matches!(
        cinder::plan_extend(&broken, 20),
        Err(DriverError::Refused(_))
    ));
    let going = cinder::parse_volume(&altered(&text, |v| {
        v["volume"]["status"] = "deleting".into()
    }))
    .unwrap();
    assert!(matches!(
        cinder::plan_extend(&going, 20),
        Err(DriverError::NotFound(_))
    ));
}

#[test]
fn cinder_volume_types_become_offerings() {
    let (Some(types), Some(usage)) = (
        sample("cinder-v3/volume_type/volume-types-list-response.json"),
        sample("cinder-v3/quota_sets/quotas-show-usage-response.json"),
    ) else {
        return;
    };
    let types = cinder::parse_volume_types(&types).unwrap();
    let names: Vec<_> = types.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["vol-type-002", "vol-type-001", "__DEFAULT__"]);
    assert_eq!(types[0].id, "ef512777-6552-4013-82f0-57a96e5804b7");
    assert_eq!(types[0].extra_specs["capabilities"], "gpu");
    assert!(types.iter().all(|t| t.is_public));
    assert!(types[2].extra_specs.is_empty());

    let usage = cinder::parse_quota_usage(&usage).unwrap();
    let offerings = cinder::volume_type_offerings(&types, Some(&usage));
    assert_eq!(offerings.len(), 3);
    let o = &offerings[1];
    assert_eq!(o.kind, OfferingKind::Volume);
    assert_eq!(o.name, "vol-type-001");
    assert_eq!(o.provider_ref, "18947ff2-ad57-42b2-9350-34262e530203");
    assert_eq!(o.description.as_deref(), Some("volume type 0001"));
    assert_eq!((o.vcpu, o.ram_mb, o.storage_gb), (0, 0, 0));
    // gigabytes: 1000 limit, 0 in use; gigabytes___DEFAULT__ is -1.
    assert!(offerings.iter().all(|o| o.capacity_units == Some(1000)));
    assert_eq!(
        offerings[2].description.as_deref(),
        Some("Default Volume Type")
    );
    assert!(
        cinder::volume_type_offerings(&types, None)
            .iter()
            .all(|o| o.capacity_units.is_none())
    );
}

#[test]
fn cinder_volume_type_show() {
    let Some(text) = sample("cinder-v3/volume_type/volume-type-show-response.json") else {
        return;
    };
    let t = cinder::parse_volume_type(&text).unwrap();
    assert_eq!(t.id, "6685584b-1eac-4da6-b5c3-555430cf68ff");
    assert_eq!(t.name, "vol-type-001");
    assert_eq!(t.extra_specs["capabilities"], "gpu");
}

#[test]
fn cinder_quota_sets() {
    for rel in [
        "cinder-v3/quota_sets/quotas-show-response.json",
        "cinder-v3/quota_sets/quotas-show-defaults-response.json",
    ] {
        let Some(text) = sample(rel) else { return };
        let q = cinder::parse_quota_set(&text).unwrap();
        assert_eq!(q.project_id, "fake_tenant");
        assert_eq!(q.limits["gigabytes"], 1000);
        assert_eq!(q.limits["volumes"], 10);
        assert_eq!(q.limits["backup_gigabytes"], 1000);
        // Per-type entries are `<resource>_<type name>`; for __DEFAULT__
        // that makes three underscores.
        assert_eq!(q.limits["gigabytes___DEFAULT__"], -1);
        assert_eq!(q.limits["per_volume_gigabytes"], -1);
    }
}

#[test]
fn cinder_quota_usage_gives_free_gb() {
    let Some(text) = sample("cinder-v3/quota_sets/quotas-show-usage-response.json") else {
        return;
    };
    let q = cinder::parse_quota_usage(&text).unwrap();
    assert_eq!(q.project_id, "fake_tenant");
    let gb = q.usage["gigabytes"];
    assert_eq!((gb.limit, gb.in_use, gb.reserved), (1000, 0, 0));
    assert_eq!(q.free_gb(None), Some(1000));
    assert_eq!(q.free_gb(Some("__DEFAULT__")), Some(1000));
    assert_eq!(q.max_volume_gb(), None);
    assert_eq!(q.usage["volumes"].limit, 10);
    assert_eq!(q.usage["snapshots___DEFAULT__"].free(), None);

    // The type's own limit counts when it is the smaller one.
    let tight = altered(&text, |v| {
        v["quota_set"]["gigabytes___DEFAULT__"] =
            serde_json::json!({"in_use": 30, "limit": 50, "reserved": 5});
        v["quota_set"]["gigabytes"]["in_use"] = 990.into();
    });
    let q = cinder::parse_quota_usage(&tight).unwrap();
    assert_eq!(q.free_gb(None), Some(10));
    assert_eq!(q.free_gb(Some("__DEFAULT__")), Some(10));
    let q = cinder::parse_quota_usage(&altered(&text, |v| {
        v["quota_set"]["gigabytes___DEFAULT__"] =
            serde_json::json!({"in_use": 30, "limit": 50, "reserved": 5});
    }))
    .unwrap();
    assert_eq!(q.free_gb(Some("__DEFAULT__")), Some(15));
    assert_eq!(q.free_gb(Some("vol-type-001")), Some(1000));
}

#[test]
fn cinder_limits_give_free_gb() {
    let Some(text) = sample("cinder-v3/limits/limits-show-response.json") else {
        return;
    };
    let l = cinder::parse_limits(&text).unwrap();
    assert_eq!(l.max_total_volume_gb, 1000);
    assert_eq!(l.total_gb_used, 0);
    assert_eq!(l.max_total_volumes, 10);
    assert_eq!(l.total_volumes_used, 0);
    assert_eq!(l.max_total_snapshots, Some(10));
    assert_eq!(l.max_total_backup_gb, Some(1000));
    assert_eq!(l.free_gb(), Some(1000));
    assert_eq!(l.free_volumes(), Some(10));
    let c = l.capacity("riga-1").unwrap();
    assert_eq!(
        (c.site.as_str(), c.free_units, c.total_units),
        ("riga-1", 1000, 1000)
    );

    let used = altered(&text, |v| {
        v["limits"]["absolute"]["totalGigabytesUsed"] = 640.into();
    });
    assert_eq!(cinder::parse_limits(&used).unwrap().free_gb(), Some(360));
    let unlimited = altered(&text, |v| {
        v["limits"]["absolute"]["maxTotalVolumeGigabytes"] = (-1).into();
    });
    let l = cinder::parse_limits(&unlimited).unwrap();
    assert_eq!(l.free_gb(), None);
    assert!(l.capacity("riga-1").is_none());
}

#[test]
fn cinder_usage_is_gb_hours_of_whole_hours() {
    let Some(text) = sample("cinder-v3/volumes/volume-show-response.json") else {
        return;
    };
    let r = cinder::parse_volume(&altered(&text, |v| {
        v["volume"]["status"] = "available".into()
    }))
    .unwrap()
    .resource()
    .unwrap();
    // Created 06:50:07; from 07:00 to 10:00 are three whole hours.
    let now = Utc.with_ymd_and_hms(2018, 11, 29, 10, 20, 0).unwrap();
    let records =
        cinder::volume_usage(&r, Utc.with_ymd_and_hms(2018, 11, 1, 0, 0, 0).unwrap(), now);
    assert_eq!(records.len(), 3);
    assert!(
        records
            .iter()
            .all(|u| u.metric == "gb_hour" && u.quantity == 10)
    );
    assert_eq!(records[0].period_start, utc("2018-11-29T07:00:00Z"));
    assert_eq!(records[2].period_end, utc("2018-11-29T10:00:00Z"));
}

#[test]
fn cinder_paths_encode_what_they_are_given() {
    assert_eq!(cinder::volume_path(SHOW_ID), format!("/volumes/{SHOW_ID}"));
    assert_eq!(cinder::volume_action_path("a/b"), "/volumes/a%2Fb/action");
    assert_eq!(
        cinder::volumes_named_path("ord 1&x=2"),
        "/volumes/detail?name=ord%201%26x%3D2"
    );
    assert_eq!(
        cinder::quota_usage_path("p1"),
        "/os-quota-sets/p1?usage=true"
    );
}

#[test]
fn cinder_bad_input_names_the_field() {
    let Some(text) = sample("cinder-v3/volumes/volume-show-response.json") else {
        return;
    };
    let cut = &text[..text.len() / 2];
    let e = cinder::parse_volume(cut).unwrap_err();
    assert_eq!(e.field(), None);
    assert!(
        e.to_string()
            .starts_with("cinder volume: the body is not valid JSON"),
        "{e}"
    );

    let e = cinder::parse_volume(&altered(&text, |v| {
        v["volume"].as_object_mut().unwrap().remove("size");
    }))
    .unwrap_err();
    assert_eq!(e.field(), Some("size"));
    assert_eq!(
        e.to_string(),
        format!("cinder volume {SHOW_ID}: field 'size' missing")
    );
    assert_eq!(
        invalid_message(e),
        format!("cinder volume {SHOW_ID}: field 'size' missing")
    );

    let e =
        cinder::parse_volume(&altered(&text, |v| v["volume"]["size"] = "10".into())).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("cinder volume {SHOW_ID}: field 'size' is a string, expected an integer")
    );
    let e =
        cinder::parse_volume(&altered(&text, |v| v["volume"]["size"] = 10.5.into())).unwrap_err();
    assert!(
        e.to_string()
            .ends_with("field 'size' is 10.5, expected an integer"),
        "{e}"
    );
    let e =
        cinder::parse_volume(&altered(&text, |v| v["volume"]["size"] = Value::Null)).unwrap_err();
    assert!(e.to_string().ends_with("field 'size' is null"), "{e}");

    let e =
        cinder::parse_volume(&altered(&text, |v| v["volume"]["status"] = 3.into())).unwrap_err();
    assert_eq!(e.field(), Some("status"));
    let e = cinder::parse_volume(&altered(&text, |v| {
        v["volume"]["metadata"] = serde_json::json!({"makonis-key": 7});
    }))
    .unwrap_err();
    assert_eq!(e.field(), Some("metadata.makonis-key"));
    let e = cinder::parse_volume(&altered(&text, |v| {
        v["volume"]["created_at"] = "yesterday".into();
    }))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("cinder volume {SHOW_ID}: field 'created_at' is \"yesterday\", not a timestamp")
    );
    let e = cinder::parse_volume(&altered(&text, |v| {
        v["volume"]["attachments"] = serde_json::json!([{"device": "/dev/vdb"}]);
    }))
    .unwrap_err();
    assert_eq!(e.field(), Some("attachments[0].server_id"));
    let e = cinder::parse_volume(&altered(&text, |v| {
        v["volume"].as_object_mut().unwrap().remove("id");
    }))
    .unwrap_err();
    assert_eq!(e.to_string(), "cinder volume: field 'volume.id' missing");
    let e = cinder::parse_volume("[]").unwrap_err();
    assert_eq!(
        e.to_string(),
        "cinder volume: the body is an array, expected an object"
    );
}

#[test]
fn cinder_bad_lists_and_quotas_name_the_field() {
    let (Some(list), Some(limits), Some(usage), Some(types)) = (
        sample("cinder-v3/volumes/volumes-list-detailed-response.json"),
        sample("cinder-v3/limits/limits-show-response.json"),
        sample("cinder-v3/quota_sets/quotas-show-usage-response.json"),
        sample("cinder-v3/volume_type/volume-types-list-response.json"),
    ) else {
        return;
    };
    let e = cinder::parse_volume_details(&altered(&list, |v| {
        v["volumes"][0].as_object_mut().unwrap().remove("id");
    }))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "cinder volume (item 0 of 'volumes'): field 'id' missing"
    );
    let e =
        cinder::parse_volume_details(&altered(&list, |v| v["volumes"] = serde_json::json!(["x"])))
            .unwrap_err();
    assert_eq!(
        e.to_string(),
        "cinder volume list: field 'volumes[0]' is a string, expected an object"
    );
    let e = cinder::parse_volume_details(&altered(&list, |v| {
        v["volumes"][0]["size"] = true.into();
    }))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "cinder volume cb49b381-9012-40cb-b8ee-80c19a4801b5: field 'size' is a boolean, expected an integer"
    );

    let e = cinder::parse_limits(&altered(&limits, |v| {
        v["limits"]["absolute"]
            .as_object_mut()
            .unwrap()
            .remove("totalGigabytesUsed");
    }))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "cinder limits: field 'limits.absolute.totalGigabytesUsed' missing"
    );

    let e = cinder::parse_quota_usage(&altered(&usage, |v| {
        v["quota_set"]["gigabytes"]["in_use"] = "0".into();
    }))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "cinder quota usage of fake_tenant: field 'gigabytes.in_use' is a string, expected an integer"
    );
    let e = cinder::parse_quota_set(&altered(&usage, |_| {})).unwrap_err();
    assert_eq!(e.field(), Some("quota_set.gigabytes"), "{e}");

    let e = cinder::parse_volume_types(&altered(&types, |v| {
        v["volume_types"][1].as_object_mut().unwrap().remove("name");
    }))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "cinder volume type 18947ff2-ad57-42b2-9350-34262e530203: field 'name' missing"
    );
}

// ---------------------------------------------------------------- Neutron

#[test]
fn neutron_network_create_body_has_the_request_sample_shape() {
    let (Some(request), Some(response)) = (
        sample("neutron-v2/networks/network-create-request.json"),
        sample("neutron-v2/networks/network-create-response.json"),
    ) else {
        return;
    };
    let body =
        serde_json::to_value(neutron::network_create_body("ord-7f3a-net", None).unwrap()).unwrap();
    assert_same_shape(
        &body,
        &json(&request),
        &[],
        &[
            "network.dns_domain",
            "network.qos_policy_id",
            "network.mtu",
            "network.pvlan",
        ],
    );
    assert_eq!(body["network"]["name"], "ord-7f3a-net");
    assert_eq!(body["network"]["admin_state_up"], true);

    // The request sample has no description; the API takes one and the
    // create response shows it, which is what is checked here.
    let body = serde_json::to_value(
        neutron::network_create_body("ord-7f3a-net", Some("Mākonis order 7f3a")).unwrap(),
    )
    .unwrap();
    let response = shape(&json(&response), &[]);
    for (path, k) in shape(&body, &[]) {
        assert_eq!(
            response.get(&path),
            Some(&k),
            "'{path}' in the create response"
        );
    }
    assert!(neutron::network_create_body(" ", None).is_err());
}

#[test]
fn neutron_tags_body_has_the_request_sample_shape() {
    let (Some(request), Some(obtained)) = (
        sample("neutron-v2/tag/tag-update-request.json"),
        sample("neutron-v2/tag/tag-obtain-response.json"),
    ) else {
        return;
    };
    let tags = neutron::network_tags_body("ord-7f3a-net", "riga-1", &spec().tags).unwrap();
    assert_eq!(
        tags.tags,
        [
            "makonis-key=ord-7f3a-net",
            "makonis-site=riga-1",
            "is=VID-12",
            "order=7f3a"
        ]
    );
    assert_same_shape(
        &serde_json::to_value(&tags).unwrap(),
        &json(&request),
        &[],
        &[],
    );
    assert_eq!(neutron::parse_tags(&obtained).unwrap(), ["red", "blue"]);

    let mut bad = BTreeMap::new();
    bad.insert("a".to_owned(), "b,c".to_owned());
    assert!(
        invalid_message(neutron::network_tags_body("k", "s", &bad).unwrap_err()).contains("comma")
    );
}

#[test]
fn neutron_network_create_response() {
    let Some(text) = sample("neutron-v2/networks/network-create-response.json") else {
        return;
    };
    let n = neutron::parse_network(&text).unwrap();
    assert_eq!(n.id, "4e8e5957-649f-477b-9e5b-f1f75b21c03c");
    assert_eq!(n.name, "net1");
    assert_eq!(n.status, NetworkStatus::Active);
    assert_eq!(
        n.project_id.as_deref(),
        Some("9bacb3c5d39d41a79512987f338cf177")
    );
    assert!(!n.shared && !n.router_external && n.admin_state_up);
    assert!(n.subnets.is_empty());
    assert_eq!(n.mtu, Some(1400));
    assert_eq!(n.description, None);
    assert_eq!(n.created_at, Some(utc("2016-03-08T20:19:41Z")));
    // One tag with a comma in it, not two tags.
    assert_eq!(n.tags, ["tag1,tag2"]);
    assert_eq!(n.idempotency_key(), "net1");
}

#[test]
fn neutron_network_show() {
    for rel in [
        "neutron-v2/networks/network-show-response.json",
        "neutron-v2/networks/network-provider-show-response.json",
    ] {
        let Some(text) = sample(rel) else { return };
        let n = neutron::parse_network(&text).unwrap();
        assert_eq!(n.id, "d32019d3-bc6e-4319-9c1d-6722fc136a22", "{rel}");
        assert_eq!(n.name, "private-network");
        assert_eq!(n.status, NetworkStatus::Active);
        assert_eq!(
            n.project_id.as_deref(),
            Some("4fd44f30292945e481c7b8a0c8908869")
        );
        assert!(n.shared);
        assert!(!n.router_external);
        assert_eq!(n.subnets, ["54d6f61d-db07-451c-9ab3-b9609b6b6f0b"]);
        assert_eq!(n.mtu, Some(1500));
    }
}

#[test]
fn neutron_network_list() {
    let Some(text) = sample("neutron-v2/networks/networks-list-response.json") else {
        return;
    };
    let list = neutron::parse_networks(&text).unwrap();
    assert_eq!(list.next, None);
    let got: Vec<_> = list
        .networks
        .iter()
        .map(|n| {
            (
                n.id.as_str(),
                n.name.as_str(),
                n.project_id.as_deref().unwrap(),
                n.shared,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "d32019d3-bc6e-4319-9c1d-6722fc136a22",
                "net1",
                "4fd44f30292945e481c7b8a0c8908869",
                false
            ),
            (
                "db193ab3-96e3-4cb3-8fc5-05f4296d0324",
                "net2",
                "26a7980765d0414dbc1fc1f88cdb7e6e",
                false
            ),
        ]
    );
    assert!(
        list.networks
            .iter()
            .all(|n| n.status == NetworkStatus::Active)
    );
    assert_eq!(
        list.networks[1].subnets,
        ["08eae331-0402-425a-923c-34f7cfe39c1b"]
    );
    assert_eq!(
        neutron::find_network_by_key(&list.networks, "net2").map(|n| n.id.as_str()),
        Some("db193ab3-96e3-4cb3-8fc5-05f4296d0324")
    );
}

#[test]
fn neutron_picks_the_projects_network_else_a_shared_one() {
    let (Some(list), Some(show)) = (
        sample("neutron-v2/networks/networks-list-response.json"),
        sample("neutron-v2/networks/network-show-response.json"),
    ) else {
        return;
    };
    let mut networks = neutron::parse_networks(&list).unwrap().networks;
    let net2 = "db193ab3-96e3-4cb3-8fc5-05f4296d0324";

    // Its own network.
    let n = neutron::pick_network(&networks, "26a7980765d0414dbc1fc1f88cdb7e6e", None).unwrap();
    assert_eq!(n.id, net2);
    // Neither sample network is shared: a stranger gets a clear refusal.
    let e = neutron::pick_network(&networks, "someone-else", None).unwrap_err();
    let DriverError::Refused(m) = e else {
        panic!("{e:?}")
    };
    assert!(
        m.contains("no network to attach a server to") && m.contains("of 2 networks"),
        "{m}"
    );

    // The show sample's network is shared: the stranger gets that one, and
    // the owner of net2 still gets its own.
    networks.push(neutron::parse_network(&show).unwrap());
    let n = neutron::pick_network(&networks, "someone-else", None).unwrap();
    assert_eq!(n.name, "private-network");
    let n = neutron::pick_network(&networks, "26a7980765d0414dbc1fc1f88cdb7e6e", None).unwrap();
    assert_eq!(n.id, net2);

    // A network that is down, external or without a subnet is passed over.
    for breakage in [
        |n: &mut neutron::Network| n.status = NetworkStatus::Down,
        |n: &mut neutron::Network| n.router_external = true,
        |n: &mut neutron::Network| n.subnets.clear(),
    ] {
        let mut ns = networks.clone();
        breakage(&mut ns[1]);
        let n = neutron::pick_network(&ns, "26a7980765d0414dbc1fc1f88cdb7e6e", None).unwrap();
        assert_eq!(n.name, "private-network");
    }

    // A configured network is taken by name or id, or refused by name.
    let n = neutron::pick_network(&networks, "x", Some("net1")).unwrap();
    assert_eq!(n.id, "d32019d3-bc6e-4319-9c1d-6722fc136a22");
    let n = neutron::pick_network(&networks, "x", Some(net2)).unwrap();
    assert_eq!(n.name, "net2");
    assert!(
        matches!(neutron::pick_network(&networks, "x", Some("nope")), Err(DriverError::Refused(m)) if m.contains("\"nope\""))
    );
}

#[test]
fn neutron_subnets() {
    let (Some(list), Some(show)) = (
        sample("neutron-v2/subnets/subnets-list-response.json"),
        sample("neutron-v2/subnets/subnet-show-response.json"),
    ) else {
        return;
    };
    let subnets = neutron::parse_subnets(&list).unwrap();
    assert_eq!(subnets.len(), 2);
    let s = &subnets[0];
    assert_eq!(s.id, "08eae331-0402-425a-923c-34f7cfe39c1b");
    assert_eq!(s.name, "private-subnet");
    assert_eq!(s.network_id, "db193ab3-96e3-4cb3-8fc5-05f4296d0324");
    assert_eq!(s.cidr, "10.0.0.0/24");
    assert_eq!(s.ip_version, 4);
    assert_eq!(s.gateway_ip.as_deref(), Some("10.0.0.1"));
    assert!(s.enable_dhcp);
    assert_eq!(subnets[1].cidr, "192.0.0.0/8");
    assert_eq!(subnets[1].gateway_ip.as_deref(), Some("192.0.0.1"));

    let s = neutron::parse_subnet(&show).unwrap();
    assert_eq!(s.id, "54d6f61d-db07-451c-9ab3-b9609b6b6f0b");
    assert_eq!(s.network_id, "d32019d3-bc6e-4319-9c1d-6722fc136a22");
    assert_eq!(
        s.project_id.as_deref(),
        Some("4fd44f30292945e481c7b8a0c8908869")
    );
}

#[test]
fn neutron_ports() {
    let Some(text) = sample("neutron-v2/ports/ports-list-response.json") else {
        return;
    };
    let ports = neutron::parse_ports(&text).unwrap();
    assert_eq!(ports.len(), 2);
    let p = &ports[0];
    assert_eq!(p.id, "d80b1a3b-4fc1-49f3-952e-1e2ab7081d8b");
    assert_eq!(p.network_id, "70c1db1f-b701-45bd-96e0-a313ee3430b3");
    assert_eq!(p.device_id, "9ae135f4-b6e0-4dad-9e91-3c223e385824");
    assert_eq!(p.device_owner, "network:router_gateway");
    assert_eq!(p.status, "ACTIVE");
    assert_eq!(p.mac_address, "fa:16:3e:58:42:ed");
    assert_eq!(p.fixed_ips.len(), 1);
    assert_eq!(p.fixed_ips[0].ip_address, "172.24.4.2");
    assert_eq!(
        p.fixed_ips[0].subnet_id,
        "008ba151-0b8c-4a67-98b5-0d2b87666062"
    );
    // The sample's router gateway port has project_id "": no project.
    assert_eq!(p.project_id, None);
    assert_eq!(ports[1].fixed_ips[0].ip_address, "10.0.0.1");
    assert_eq!(
        ports[1].project_id.as_deref(),
        Some("d397de8a63f341818f198abb0966f6f3")
    );
}

#[test]
fn neutron_quotas() {
    let (Some(show), Some(updated)) = (
        sample("neutron-v2/quotas/quotas-list-for-project-response.json"),
        sample("neutron-v2/quotas/quotas-update-response.json"),
    ) else {
        return;
    };
    let q = neutron::parse_quota(&show).unwrap();
    assert_eq!(q.limit("network"), Some(10));
    assert_eq!(q.limit("port"), Some(50));
    assert_eq!(q.limit("floatingip"), Some(50));
    assert_eq!(q.limit("subnetpool"), Some(-1));
    assert_eq!(q.limit("router"), Some(10));
    assert_eq!(q.limit("nonesuch"), None);
    assert_eq!(
        neutron::parse_quota(&updated).unwrap().limit("network"),
        Some(15)
    );
}

#[test]
fn neutron_quota_details() {
    let Some(text) =
        sample("neutron-v2/quota_details/quota-details-show-for-project-response.json")
    else {
        return;
    };
    let q = neutron::parse_quota_details(&text).unwrap();
    let n = q.get("network").unwrap();
    assert_eq!((n.used, n.limit, n.reserved), (9, 100, 2));
    assert_eq!(n.free(), Some(89));
    let p = q.get("port").unwrap();
    assert_eq!((p.used, p.limit, p.reserved), (21, 500, 3));
    assert_eq!(p.free(), Some(476));
    assert_eq!(q.get("security_group_rule").unwrap().reserved, 1);
    assert_eq!(q.get("subnetpool").unwrap().free(), None);
    // This sample reports no floating IPs or routers at all.
    assert!(q.get("floatingip").is_none());
    assert!(q.get("router").is_none());
}

#[test]
fn neutron_paths() {
    assert_eq!(neutron::network_path("n1"), "/v2.0/networks/n1");
    assert_eq!(neutron::network_tags_path("n1"), "/v2.0/networks/n1/tags");
    assert_eq!(
        neutron::networks_named_path("a b"),
        "/v2.0/networks?name=a%20b"
    );
    assert_eq!(
        neutron::subnets_of_network_path("n1"),
        "/v2.0/subnets?network_id=n1"
    );
    assert_eq!(
        neutron::ports_of_device_path("s1"),
        "/v2.0/ports?device_id=s1"
    );
    assert_eq!(neutron::quota_path("p1"), "/v2.0/quotas/p1");
    assert_eq!(neutron::quota_details_path("p1"), "/v2.0/quotas/p1/details");
}

#[test]
fn neutron_bad_input_names_the_field() {
    let (Some(show), Some(list), Some(subnets), Some(ports), Some(details), Some(quota)) = (
        sample("neutron-v2/networks/network-show-response.json"),
        sample("neutron-v2/networks/networks-list-response.json"),
        sample("neutron-v2/subnets/subnets-list-response.json"),
        sample("neutron-v2/ports/ports-list-response.json"),
        sample("neutron-v2/quota_details/quota-details-show-for-project-response.json"),
        sample("neutron-v2/quotas/quotas-list-for-project-response.json"),
    ) else {
        return;
    };
    let net = "neutron network d32019d3-bc6e-4319-9c1d-6722fc136a22";
    let e = neutron::parse_network(&show[..show.len() - 10]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("neutron network: the body is not valid JSON"),
        "{e}"
    );
    let e = neutron::parse_network(&altered(&show, |v| {
        v["network"].as_object_mut().unwrap().remove("status");
    }))
    .unwrap_err();
    assert_eq!(e.to_string(), format!("{net}: field 'status' missing"));
    let e = neutron::parse_network(&altered(&show, |v| v["network"]["shared"] = "yes".into()))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{net}: field 'shared' is a string, expected a boolean")
    );
    let e = neutron::parse_network(&altered(&show, |v| {
        v["network"]["subnets"] = serde_json::json!(["a", 2]);
    }))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        format!("{net}: field 'subnets[1]' is a number, expected a string")
    );
    let e = neutron::parse_networks(&altered(&list, |v| v["networks"] = serde_json::json!({})))
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "neutron network list: field 'networks' is an object, expected an array"
    );
    let e = neutron::parse_subnets(&altered(&subnets, |v| {
        v["subnets"][1]["ip_version"] = 5.into()
    }))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "neutron subnet 54d6f61d-db07-451c-9ab3-b9609b6b6f0b: field 'ip_version' is 5, expected 4 or 6"
    );
    let e = neutron::parse_subnets(&altered(&subnets, |v| {
        v["subnets"][0].as_object_mut().unwrap().remove("cidr");
    }))
    .unwrap_err();
    assert_eq!(e.field(), Some("cidr"));
    let e = neutron::parse_ports(&altered(&ports, |v| {
        v["ports"][1]["fixed_ips"][0]
            .as_object_mut()
            .unwrap()
            .remove("ip_address");
    }))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "neutron port f71a6703-d6de-4be1-a91a-a570ede1d159: field 'fixed_ips[0].ip_address' missing"
    );
    let e = neutron::parse_quota_details(&altered(&details, |v| {
        v["quota"]["port"].as_object_mut().unwrap().remove("used");
    }))
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "neutron quota details: field 'quota.port.used' missing"
    );
    let e = neutron::parse_quota_details(&altered(&details, |v| {
        v["quota"].as_object_mut().unwrap().remove("network");
    }))
    .unwrap_err();
    assert_eq!(e.field(), Some("quota.network"));
    let e =
        neutron::parse_quota(&altered(&quota, |v| v["quota"]["port"] = "50".into())).unwrap_err();
    assert_eq!(
        invalid_message(e),
        "neutron quota: field 'quota.port' is a string, expected an integer"
    );
}

// ---------------------------------------------------------------- Both

/// No prefix of any sample used here makes a parser panic: every cut is an
/// error (or, where the prefix happens to be complete JSON, a value).
#[test]
fn truncated_samples_never_panic() {
    type Parse = fn(&str) -> bool;
    let parsers: [(&str, Parse); 16] = [
        ("cinder-v3/volumes/volume-create-response.json", |b| {
            cinder::parse_volume(b).is_ok()
        }),
        ("cinder-v3/volumes/volume-show-response.json", |b| {
            cinder::parse_volume(b).is_ok()
        }),
        (
            "cinder-v3/volumes/volumes-list-detailed-response.json",
            |b| cinder::parse_volume_details(b).is_ok(),
        ),
        ("cinder-v3/volumes/volumes-list-response.json", |b| {
            cinder::parse_volume_refs(b).is_ok()
        }),
        (
            "cinder-v3/volume_type/volume-types-list-response.json",
            |b| cinder::parse_volume_types(b).is_ok(),
        ),
        ("cinder-v3/quota_sets/quotas-show-response.json", |b| {
            cinder::parse_quota_set(b).is_ok()
        }),
        (
            "cinder-v3/quota_sets/quotas-show-usage-response.json",
            |b| cinder::parse_quota_usage(b).is_ok(),
        ),
        ("cinder-v3/limits/limits-show-response.json", |b| {
            cinder::parse_limits(b).is_ok()
        }),
        ("neutron-v2/networks/network-create-response.json", |b| {
            neutron::parse_network(b).is_ok()
        }),
        ("neutron-v2/networks/network-show-response.json", |b| {
            neutron::parse_network(b).is_ok()
        }),
        ("neutron-v2/networks/networks-list-response.json", |b| {
            neutron::parse_networks(b).is_ok()
        }),
        ("neutron-v2/subnets/subnets-list-response.json", |b| {
            neutron::parse_subnets(b).is_ok()
        }),
        ("neutron-v2/ports/ports-list-response.json", |b| {
            neutron::parse_ports(b).is_ok()
        }),
        (
            "neutron-v2/quotas/quotas-list-for-project-response.json",
            |b| neutron::parse_quota(b).is_ok(),
        ),
        (
            "neutron-v2/quota_details/quota-details-show-for-project-response.json",
            |b| neutron::parse_quota_details(b).is_ok(),
        ),
        ("neutron-v2/tag/tag-obtain-response.json", |b| {
            neutron::parse_tags(b).is_ok()
        }),
    ];
    for (rel, parse) in parsers {
        let Some(text) = sample(rel) else { return };
        assert!(parse(&text), "{rel} parses whole");
        let complete = text.trim_end().len();
        for cut in (0..complete).filter(|i| text.is_char_boundary(*i)) {
            assert!(!parse(&text[..cut]), "{rel} cut at {cut} parsed");
        }
    }
}
