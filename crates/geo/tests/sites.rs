//! EMB-1 on real places: capitals that qualify and capitals that do not,
//! with distances checked against an independent computation, and
//! properties of the verdict over random input.
//!
//! The expected distances come from a separate brute force (Python,
//! geographiclib 2.1): the source TopoJSON decoded afresh, every boundary
//! segment near the site sampled every 20 m along the straight lon/lat line,
//! and Karney's geodesic inverse to each sample. Both methods agree to a few
//! metres; the bands below are ±2 km around those values.

use chrono::NaiveDate;
use geo::{Distance, Geodesic, Point};
use makonis_geo::{
    BorderCountry, Criterion, MINIMUM_DISTANCE_KM, SiteInput, check_site, countries, nearest_border,
};
use proptest::prelude::*;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
}

/// A site with a Tier III certificate valid until the end of 2027.
fn site(country: &str, lat: f64, lon: f64) -> SiteInput {
    SiteInput {
        country: country.to_owned(),
        lat,
        lon,
        tier: Some(3),
        tier_valid_until: NaiveDate::from_ymd_opt(2027, 12, 31),
        today: today(),
    }
}

fn assert_band(name: &str, km: f64, expected: f64) {
    assert!(
        (km - expected).abs() <= 2.0,
        "{name}: {km:.3} km, expected {expected} ± 2 km"
    );
}

fn codes(failed: &[Criterion]) -> Vec<&'static str> {
    failed.iter().map(Criterion::code).collect()
}

#[test]
fn western_capitals_with_a_valid_tier_iii_qualify() {
    // (name, country, lat, lon, independent distance to Kaliningrad, km)
    let cases = [
        ("Lisbon", "PT", 38.7223, -9.1393, 2779.69),
        ("Madrid", "ES", 40.4168, -3.7038, 2331.48),
        ("Dublin", "IE", 53.3498, -6.2603, 1695.29),
        ("Paris", "FR", 48.8566, 2.3522, 1342.21),
        // Only 3 km to spare: the nearest point is the Russian end of the
        // Vistula Spit, 54.4572 N 19.6112 E.
        ("Amsterdam", "NL", 52.3676, 4.9041, 1003.20),
    ];
    for (name, country, lat, lon, expected) in cases {
        let v = check_site(&site(country, lat, lon)).unwrap();
        assert!(v.eligible, "{name}: {v:?}");
        assert!(v.failed.is_empty(), "{name}: {v:?}");
        assert_band(name, v.distance_km, expected);
        assert_eq!(
            v.nearest_border_point.country,
            BorderCountry::Russia,
            "{name}"
        );
        // On the Kaliningrad region's boundary, not Russia proper.
        let p = v.nearest_border_point;
        assert!(
            (54.3..=55.3).contains(&p.lat) && (19.6..=22.9).contains(&p.lon),
            "{name}: {p:?}"
        );
    }
}

#[test]
fn lisbon_to_kaliningrad_is_about_2780_km() {
    let v = check_site(&site("PT", 38.7223, -9.1393)).unwrap();
    assert!((2700.0..=2900.0).contains(&v.distance_km), "{v:?}");
    // The nearest point is the Vistula Spit border: Russia's westernmost land.
    let p = v.nearest_border_point;
    assert!(
        (p.lat - 54.4572).abs() < 0.001 && (p.lon - 19.6112).abs() < 0.001,
        "{p:?}"
    );
    // And the distance is exactly the geodesic distance to that point.
    let direct = Geodesic.distance(Point::new(-9.1393, 38.7223), Point::new(p.lon, p.lat));
    assert!((direct / 1000.0 - v.distance_km).abs() < 1e-6);
}

#[test]
fn riga_is_in_latvia_and_too_close() {
    let v = check_site(&site("LV", 56.9496, 24.1052)).unwrap();
    assert!(!v.eligible);
    assert_eq!(codes(&v.failed), ["in_latvia", "too_close"]);
    assert_band("Riga", v.distance_km, 206.23);
    assert_eq!(v.nearest_border_point.country, BorderCountry::Russia);
    assert!(matches!(
        v.failed[1],
        Criterion::TooClose { minimum_km, country: BorderCountry::Russia, .. } if minimum_km == 1000.0
    ));
}

#[test]
fn eastern_flank_capitals_are_too_close() {
    // (name, country, lat, lon, expected km, nearest country)
    let cases = [
        (
            "Warsaw",
            "PL",
            52.2297,
            21.0122,
            147.10,
            BorderCountry::Belarus,
        ),
        (
            "Vilnius",
            "LT",
            54.6872,
            25.2797,
            27.77,
            BorderCountry::Belarus,
        ),
        // Gogland, a Russian island in the Gulf of Finland.
        (
            "Helsinki",
            "FI",
            60.1699,
            24.9384,
            111.83,
            BorderCountry::Russia,
        ),
        (
            "Berlin",
            "DE",
            52.5200,
            13.4050,
            464.73,
            BorderCountry::Russia,
        ),
        (
            "Stockholm",
            "SE",
            59.3293,
            18.0686,
            482.29,
            BorderCountry::Russia,
        ),
        (
            "Copenhagen",
            "DK",
            55.6761,
            12.5683,
            469.73,
            BorderCountry::Russia,
        ),
        // NATO, not EU: passes criterion 2, fails only on distance.
        (
            "Oslo",
            "NO",
            59.9139,
            10.7522,
            780.29,
            BorderCountry::Russia,
        ),
    ];
    for (name, country, lat, lon, expected, nearest) in cases {
        let v = check_site(&site(country, lat, lon)).unwrap();
        assert!(!v.eligible, "{name}");
        assert_eq!(codes(&v.failed), ["too_close"], "{name}: {v:?}");
        assert_band(name, v.distance_km, expected);
        assert_eq!(v.nearest_border_point.country, nearest, "{name}");
    }
}

#[test]
fn switzerland_is_neither_eu_nor_nato() {
    for (name, lat, lon, expected) in [
        ("Bern", 46.9480, 7.4474, 1195.30),
        ("Zurich", 47.3769, 8.5417, 1104.96),
    ] {
        let v = check_site(&site("CH", lat, lon)).unwrap();
        assert!(!v.eligible);
        assert_eq!(
            v.failed,
            vec![Criterion::NotEuOrNato {
                country: "CH".into()
            }],
            "{name}"
        );
        assert_band(name, v.distance_km, expected);
    }
}

#[test]
fn tier_ii_and_expired_certificates_fail() {
    let mut tier2 = site("PT", 38.7223, -9.1393);
    tier2.tier = Some(2);
    let v = check_site(&tier2).unwrap();
    assert!(!v.eligible);
    assert_eq!(v.failed, vec![Criterion::TierBelowIII { tier: Some(2) }]);

    let mut expired = site("ES", 40.4168, -3.7038);
    expired.tier = Some(4);
    expired.tier_valid_until = NaiveDate::from_ymd_opt(2025, 5, 31);
    let v = check_site(&expired).unwrap();
    assert!(!v.eligible);
    assert_eq!(
        v.failed,
        vec![Criterion::TierCertificateExpired {
            until: NaiveDate::from_ymd_opt(2025, 5, 31).unwrap()
        }]
    );
    assert_eq!(
        v.failed[0].to_string(),
        "the Tier certificate was valid only until 2025-05-31"
    );
}

#[test]
fn minsk_is_inside_belarus_at_distance_zero() {
    let v = check_site(&site("BY", 53.9006, 27.5590)).unwrap();
    assert_eq!(v.distance_km, 0.0);
    assert_eq!(v.nearest_border_point.country, BorderCountry::Belarus);
    assert_eq!(
        (v.nearest_border_point.lat, v.nearest_border_point.lon),
        (53.9006, 27.5590)
    );
    assert_eq!(codes(&v.failed), ["not_eu_or_nato", "too_close"]);
    // Whatever country is claimed, the coordinates decide the distance.
    let claimed_pt = check_site(&site("PT", 53.9006, 27.5590)).unwrap();
    assert_eq!(claimed_pt.distance_km, 0.0);
    assert_eq!(codes(&claimed_pt.failed), ["too_close"]);
    // Kaliningrad city is inside Russia.
    let d = nearest_border(54.71, 20.51);
    assert!(d.inside && d.distance_km == 0.0 && d.nearest.country == BorderCountry::Russia);
}

#[test]
fn invalid_coordinates_are_an_error_naming_the_field() {
    let err = check_site(&site("PT", 200.0, -9.0)).unwrap_err();
    assert_eq!(err.field(), "lat");
    assert_eq!(err.code(), "invalid_coordinates");
    assert_eq!(
        err.to_string(),
        "lat: 200 is not a latitude in [-90, 90] degrees"
    );
    let err = check_site(&site("PT", 38.0, 181.0)).unwrap_err();
    assert_eq!(err.field(), "lon");
    assert_eq!(
        err.to_string(),
        "lon: 181 is not a longitude in [-180, 180] degrees"
    );
}

#[test]
fn far_eastern_european_sites_are_nearest_to_points_far_west_of_60e() {
    // A cut of Russia at 60°E would not change these: their nearest points
    // are on the Black Sea coast and the Caucasus, nowhere near 60°E.
    for (name, country, lat, lon, expected, eligible) in [
        // Nearest is Crimea, which Natural Earth 4.1.0 draws as Russian.
        ("Nicosia", "CY", 35.1856, 33.3823, 1022.13, true),
        ("Athens", "GR", 37.9838, 23.7275, 1088.68, true),
        ("Ankara", "TR", 39.9334, 32.8597, 501.08, false),
        ("Kars", "TR", 40.6013, 43.0950, 227.90, false),
    ] {
        let v = check_site(&site(country, lat, lon)).unwrap();
        assert_band(name, v.distance_km, expected);
        assert_eq!(v.eligible, eligible, "{name}: {v:?}");
        assert!(v.nearest_border_point.lon < 45.0, "{name}: {v:?}");
        assert!(v.nearest_border_point.lat > 42.0, "{name}: {v:?}");
    }
}

#[test]
fn alaska_shows_why_the_far_east_is_kept() {
    // NATO includes the United States. Nome is 221 km from Chukotka (west
    // of the antimeridian, at negative longitudes), and Attu in the
    // Aleutians (173°E) 382 km from the Commander Islands (east of 60°E):
    // a data set cut at 60°E would have called Attu eligible.
    let nome = check_site(&site("US", 64.5011, -165.4064)).unwrap();
    assert_band("Nome", nome.distance_km, 221.10);
    assert!(nome.nearest_border_point.lon < -168.0);
    assert_eq!(codes(&nome.failed), ["too_close"]);

    let attu = check_site(&site("US", 52.85, 173.18)).unwrap();
    assert_band("Attu", attu.distance_km, 382.14);
    assert!((160.0..170.0).contains(&attu.nearest_border_point.lon));
    assert_eq!(codes(&attu.failed), ["too_close"]);

    // Anchorage is just far enough.
    let anchorage = check_site(&site("US", 61.2181, -149.9003)).unwrap();
    assert_band("Anchorage", anchorage.distance_km, 1073.60);
    assert!(anchorage.eligible, "{anchorage:?}");
}

#[test]
fn sites_in_the_latitudes_where_russias_rings_cross_the_antimeridian() {
    // Natural Earth's rings for mainland Russia step from -180 to 179.9 at
    // 65-69°N; read as flat lon/lat they would swallow this whole band.
    for (name, country, lat, lon, expected, eligible) in [
        ("Rovaniemi", "FI", 66.50, 25.73, 153.24, false),
        ("Kiruna", "SE", 67.86, 20.23, 348.26, false),
        ("Kotzebue", "US", 66.9, -162.6, 310.56, false),
        ("Akureyri", "IS", 65.68, -18.09, 1985.28, true),
    ] {
        let v = check_site(&site(country, lat, lon)).unwrap();
        assert_band(name, v.distance_km, expected);
        assert_eq!(v.eligible, eligible, "{name}: {v:?}");
    }
}

/// Points known to be on the boundary: the distance to the boundary can be
/// no more than the distance to any of them.
const KNOWN_BORDER_POINTS: [(f64, f64); 3] = [
    (54.4572, 19.6112), // Vistula Spit, Kaliningrad region / Poland
    (52.2890, 23.1644), // Bug river, Belarus / Poland
    (57.5388, 27.3441), // Russia / Latvia
];

fn country_code() -> impl Strategy<Value = String> {
    prop::sample::select(countries::ISO_3166_ALPHA2.to_vec()).prop_map(str::to_owned)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn distance_is_finite_non_negative_and_below_any_known_border_point(
        lat in -90.0f64..=90.0,
        lon in -180.0f64..=180.0,
    ) {
        let d = nearest_border(lat, lon);
        prop_assert!(d.distance_km.is_finite() && d.distance_km >= 0.0, "{d:?}");
        prop_assert_eq!(d.inside, d.distance_km == 0.0);
        for (blat, blon) in KNOWN_BORDER_POINTS {
            let km = Geodesic.distance(Point::new(lon, lat), Point::new(blon, blat)) / 1000.0;
            prop_assert!(d.distance_km <= km + 1e-6, "{d:?} vs {km} to ({blat}, {blon})");
        }
        // The reported distance is the geodesic distance to the reported point.
        let to_nearest = Geodesic.distance(
            Point::new(lon, lat),
            Point::new(d.nearest.lon, d.nearest.lat),
        ) / 1000.0;
        prop_assert!((to_nearest - d.distance_km).abs() < 1e-6);
    }

    #[test]
    fn eligible_exactly_when_every_criterion_passes(
        country in country_code(),
        lat in 25.0f64..=72.0,
        lon in -30.0f64..=50.0,
        tier in prop::option::of(1u8..=4),
        valid_days in prop::option::of(-400i64..=400),
    ) {
        let today = today();
        let input = SiteInput {
            country: country.clone(),
            lat,
            lon,
            tier,
            tier_valid_until: valid_days.map(|d| today + chrono::Duration::days(d)),
            today,
        };
        let v = check_site(&input).unwrap();
        prop_assert!(v.distance_km >= 0.0);
        prop_assert_eq!(v.eligible, v.failed.is_empty());

        let outside_latvia = country != "LV";
        let member = countries::is_eu(&country) || countries::is_nato(&country);
        let tier_ok = tier.is_some_and(|t| t >= 3) && valid_days.is_some_and(|d| d >= 0);
        let far = v.distance_km >= MINIMUM_DISTANCE_KM;
        prop_assert_eq!(v.eligible, outside_latvia && member && tier_ok && far, "{:?}", v);
        let failed = codes(&v.failed);
        prop_assert_eq!(failed.contains(&"in_latvia"), !outside_latvia);
        prop_assert_eq!(failed.contains(&"not_eu_or_nato"), !member);
        prop_assert_eq!(
            failed.iter().any(|c| c.starts_with("tier_")),
            !tier_ok
        );
        prop_assert_eq!(failed.contains(&"too_close"), !far);
    }
}
