//! The embedded boundaries of Russia (with the Kaliningrad region) and
//! Belarus, and the geodesic distance from a point to the nearest of them
//! (criterion 4 of EMB-1).
//!
//! Data: `data/borders.json`, derived by `scripts/geo/regenerate-borders`
//! from Natural Earth 4.1.0 Admin 0 countries at 1:10m as packaged in the
//! npm package `world-atlas` 2.0.2 (`countries-10m.json`); see
//! `data/README.md`. All of both countries is kept (no longitude cut, no
//! thinning): about 38,000 vertices in 215 rings.
//!
//! Method. The boundary is the rings' segments, each taken as the great-circle
//! arc between two consecutive vertices. For a site outside both countries:
//!
//! 1. on the unit sphere, the nearest vertex gives an upper bound θv on the
//!    angular distance to the boundary (dot products only);
//! 2. every segment that can come within `θv · MARGIN` (vertex `a` or `b`
//!    within that plus half the segment's length, a triangle-inequality bound)
//!    gets its exact spherical closest point and distance θs;
//! 3. the candidates within `min θs · MARGIN` are measured again on the WGS84
//!    ellipsoid with `geo`'s `Geodesic` (Karney's algorithm, geographiclib-rs),
//!    and the smallest geodesic distance wins.
//!
//! `MARGIN` covers the sphere-versus-ellipsoid difference: the ellipsoid's
//! radii of curvature lie between 6335.4 km (meridian, equator) and
//! 6399.6 km (poles), so the ratio of geodesic to spherical distance (mean
//! radius 6371.0088 km) lies between 0.9944 and 1.0045 for any pair of
//! points, and the geodesically nearest point is always within 1.0102 × the
//! spherical minimum; `MARGIN` is 1.02.
//!
//! A site inside either country (`geo::Contains` on its polygons) is at
//! distance 0, and its "nearest border point" is the site itself. The
//! polygons' longitudes are unwrapped where a ring steps over ±180 (see
//! `unwrap_longitudes`), so the flat test is right across the antimeridian.
//!
//! Error bound: against the embedded polyline the result is exact up to
//! rounding (the geodesic distance to the spherically closest point differs
//! from the ellipsoidal minimum only to second order; an independent brute
//! force agrees within 5 m). Taking segments as great-circle arcs rather than
//! straight lon/lat lines moves no segment midpoint by more than 0.05 km in
//! this data (the four steps over ±180 aside, where a straight lon/lat line
//! would run round the world). The data itself is within ~0.2 km of
//! Natural Earth 1:10m, which is a generalised map: see `data/README.md`.

use std::f64::consts::PI;
use std::sync::OnceLock;

use geo::{Contains, Coord, Distance, Geodesic, LineString, Point, Polygon};
use serde::{Deserialize, Serialize};

/// The derived border data, embedded at build time.
const BORDERS_JSON: &str = include_str!("../data/borders.json");

/// Where the embedded border data comes from, for reports.
pub const BORDER_DATA_SOURCE: &str =
    "Natural Earth 4.1.0 Admin 0, 1:10m (npm world-atlas 2.0.2, countries-10m.json)";

/// See the module documentation: covers the sphere/ellipsoid distance ratio.
const MARGIN: f64 = 1.02;
/// Numerical slack on angles, in radians (about 6 m).
const SLACK: f64 = 1e-6;

/// A country whose boundary counts for criterion 4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BorderCountry {
    /// Russia, including the Kaliningrad region.
    #[serde(rename = "RU")]
    Russia,
    /// Belarus.
    #[serde(rename = "BY")]
    Belarus,
}

impl BorderCountry {
    /// ISO 3166-1 alpha-2 code.
    pub fn code(self) -> &'static str {
        match self {
            BorderCountry::Russia => "RU",
            BorderCountry::Belarus => "BY",
        }
    }

    /// English name.
    pub fn name(self) -> &'static str {
        match self {
            BorderCountry::Russia => "Russia",
            BorderCountry::Belarus => "Belarus",
        }
    }

    fn from_code(code: &str) -> Option<BorderCountry> {
        match code {
            "RU" => Some(BorderCountry::Russia),
            "BY" => Some(BorderCountry::Belarus),
            _ => None,
        }
    }
}

impl std::fmt::Display for BorderCountry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A point of Russia's or Belarus's territory (degrees, WGS84).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BorderPoint {
    pub lat: f64,
    pub lon: f64,
    pub country: BorderCountry,
}

/// The distance from a point to the nearest boundary point of Russia or
/// Belarus.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BorderDistance {
    /// Geodesic distance on WGS84, in kilometres; 0 inside either country.
    pub distance_km: f64,
    /// The nearest boundary point; the point itself when it is inside.
    pub nearest: BorderPoint,
    /// Whether the point lies inside Russia or Belarus.
    pub inside: bool,
}

/// The distance from (`lat`, `lon`) in degrees to Russia or Belarus.
///
/// The coordinates must be finite, `lat` in [-90, 90] and `lon` in
/// [-180, 180]; [`crate::check_site`] validates them before calling this.
/// Out-of-range input is clamped into range rather than trusted.
pub fn nearest_border(lat: f64, lon: f64) -> BorderDistance {
    let lat = if lat.is_nan() {
        0.0
    } else {
        lat.clamp(-90.0, 90.0)
    };
    let lon = if lon.is_nan() {
        0.0
    } else {
        lon.clamp(-180.0, 180.0)
    };
    borders().nearest(lat, lon)
}

/// Statistics of the embedded data, for tests and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BorderDataStats {
    pub rings: usize,
    pub vertices: usize,
    pub russia_polygons: usize,
    pub belarus_polygons: usize,
}

/// Counts of the embedded data.
pub fn border_data_stats() -> BorderDataStats {
    let b = borders();
    let polygons = |c| {
        b.countries
            .iter()
            .filter(|s| s.country == c)
            .map(|s| s.polygons.len())
            .sum()
    };
    BorderDataStats {
        rings: b.rings.len(),
        vertices: b.vertices.len(),
        russia_polygons: polygons(BorderCountry::Russia),
        belarus_polygons: polygons(BorderCountry::Belarus),
    }
}

type V3 = [f64; 3];

fn dot(a: V3, b: V3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: V3, b: V3) -> V3 {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}

fn norm(a: V3) -> f64 {
    dot(a, a).sqrt()
}

fn scale(a: V3, k: f64) -> V3 {
    [a[0] * k, a[1] * k, a[2] * k]
}

/// Angle between two unit vectors, accurate for small angles too.
fn angle(a: V3, b: V3) -> f64 {
    norm(cross(a, b)).atan2(dot(a, b))
}

/// Unit vector of a latitude/longitude (degrees) on the unit sphere.
fn unit(lat: f64, lon: f64) -> V3 {
    let (sf, cf) = lat.to_radians().sin_cos();
    let (sl, cl) = lon.to_radians().sin_cos();
    [cf * cl, cf * sl, sf]
}

/// Latitude and longitude (degrees) of a unit vector.
fn lat_lon(v: V3) -> (f64, f64) {
    let lat = v[2].atan2(v[0].hypot(v[1])).to_degrees();
    let lon = v[1].atan2(v[0]).to_degrees();
    (lat, lon)
}

/// Where on the arc `a`–`b` the point closest to `p` is.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Closest {
    /// Strictly between the ends, at this unit vector.
    Interior(V3),
    /// At `a`.
    A,
    /// At `b`.
    B,
}

/// The point of the great-circle arc `a`–`b` (shorter than π) closest to
/// `p`, and its angular distance from `p`.
fn closest_on_arc(p: V3, a: V3, b: V3) -> (Closest, f64) {
    let n = cross(a, b);
    let nn = norm(n);
    if nn > 1e-15 {
        let n = scale(n, 1.0 / nn);
        let pn = dot(p, n);
        let q = [p[0] - pn * n[0], p[1] - pn * n[1], p[2] - pn * n[2]];
        let qn = norm(q);
        if qn > 1e-15 {
            let q = scale(q, 1.0 / qn);
            // q lies on the arc when it is on the a→b side of a and of b.
            if dot(cross(a, q), n) > 0.0 && dot(cross(q, b), n) > 0.0 {
                return (Closest::Interior(q), angle(p, q));
            }
        }
    }
    if dot(p, a) >= dot(p, b) {
        (Closest::A, angle(p, a))
    } else {
        (Closest::B, angle(p, b))
    }
}

struct Ring {
    country: BorderCountry,
    /// Index range into `Borders::vertices`; the ring is closed (last = first).
    start: usize,
    end: usize,
}

struct Shape {
    country: BorderCountry,
    /// Each polygon with its bounding box (min lon, min lat, max lon, max lat).
    polygons: Vec<([f64; 4], Polygon<f64>)>,
}

struct Borders {
    countries: Vec<Shape>,
    rings: Vec<Ring>,
    vertices: Vec<V3>,
    /// The same vertices as in the data file: (lat, lon) degrees.
    lat_lon: Vec<(f64, f64)>,
    /// Per segment starting at vertex i (i + 1 in the same ring): half its
    /// angular length, and that half's cosine and sine.
    half_len: Vec<(f64, f64, f64)>,
}

#[derive(Deserialize)]
struct File {
    countries: Vec<FileCountry>,
}

#[derive(Deserialize)]
struct FileCountry {
    code: String,
    /// Each polygon: exterior ring, then holes; each ring closed.
    polygons: Vec<Vec<Vec<[f64; 2]>>>,
}

fn borders() -> &'static Borders {
    static BORDERS: OnceLock<Borders> = OnceLock::new();
    BORDERS.get_or_init(|| match Borders::parse(BORDERS_JSON) {
        Ok(b) => b,
        // The file is part of the crate and checked by the tests below.
        Err(e) => panic!("embedded data/borders.json is invalid: {e}"),
    })
}

impl Borders {
    fn parse(json: &str) -> Result<Borders, String> {
        let file: File = serde_json::from_str(json).map_err(|e| e.to_string())?;
        let mut borders = Borders {
            countries: Vec::new(),
            rings: Vec::new(),
            vertices: Vec::new(),
            lat_lon: Vec::new(),
            half_len: Vec::new(),
        };
        for c in file.countries {
            let country = BorderCountry::from_code(&c.code)
                .ok_or_else(|| format!("unexpected country {}", c.code))?;
            let mut shape = Shape {
                country,
                polygons: Vec::new(),
            };
            for polygon in c.polygons {
                let mut rings = Vec::new();
                for ring in polygon {
                    if ring.len() < 4 || ring.first() != ring.last() {
                        return Err(format!("{}: a ring is not closed", c.code));
                    }
                    if ring.iter().any(|[lon, lat]| {
                        !(-180.0..=180.0).contains(lon) || !(-90.0..=90.0).contains(lat)
                    }) {
                        return Err(format!("{}: a point is out of range", c.code));
                    }
                    let start = borders.vertices.len();
                    borders
                        .vertices
                        .extend(ring.iter().map(|&[lon, lat]| unit(lat, lon)));
                    borders
                        .lat_lon
                        .extend(ring.iter().map(|&[lon, lat]| (lat, lon)));
                    let end = borders.vertices.len();
                    for i in start..end {
                        let len = if i + 1 < end {
                            angle(borders.vertices[i], borders.vertices[i + 1])
                        } else {
                            0.0
                        };
                        let half = len / 2.0;
                        borders.half_len.push((half, half.cos(), half.sin()));
                    }
                    borders.rings.push(Ring {
                        country,
                        start,
                        end,
                    });
                    rings.push(
                        unwrap_longitudes(&ring)
                            .ok_or_else(|| format!("{}: a ring circles a pole", c.code))?,
                    );
                }
                let mut rings = rings.into_iter();
                let exterior = rings
                    .next()
                    .ok_or_else(|| format!("{}: an empty polygon", c.code))?;
                // Holes go on the same side of the antimeridian as their exterior.
                let centre = mid_longitude(&exterior);
                let holes = rings
                    .map(|mut hole| {
                        let turns = ((centre - mid_longitude(&hole)) / 360.0).round();
                        hole.iter_mut().for_each(|c| c.x += turns * 360.0);
                        LineString::from(hole)
                    })
                    .collect();
                let polygon = Polygon::new(LineString::from(exterior), holes);
                let bbox = bounding_box(&polygon);
                shape.polygons.push((bbox, polygon));
            }
            borders.countries.push(shape);
        }
        Ok(borders)
    }

    fn inside(&self, lat: f64, lon: f64) -> Option<BorderCountry> {
        self.countries.iter().find_map(|shape| {
            shape
                .polygons
                .iter()
                .any(|(b, polygon)| {
                    // A polygon across the antimeridian has longitudes past
                    // ±180; the point is tried at its other names too.
                    [lon, lon + 360.0, lon - 360.0].into_iter().any(|x| {
                        x >= b[0]
                            && lat >= b[1]
                            && x <= b[2]
                            && lat <= b[3]
                            && polygon.contains(&Point::new(x, lat))
                    })
                })
                .then_some(shape.country)
        })
    }

    fn nearest(&self, lat: f64, lon: f64) -> BorderDistance {
        if let Some(country) = self.inside(lat, lon) {
            return BorderDistance {
                distance_km: 0.0,
                nearest: BorderPoint { lat, lon, country },
                inside: true,
            };
        }
        let p = unit(lat, lon);

        // 1. Upper bound from the nearest vertex.
        let best_dot = self
            .vertices
            .iter()
            .map(|&v| dot(p, v))
            .fold(-1.0_f64, f64::max);
        let theta_v = best_dot.clamp(-1.0, 1.0).acos();
        let cut = (theta_v * MARGIN + SLACK).min(PI);
        let (sin_cut, cos_cut) = cut.sin_cos();

        // 2. Spherical closest points of the segments that can come within `cut`:
        // a segment of length L has a point within `cut` of p only if one of
        // its ends is within `cut + L/2`.
        let mut candidates: Vec<(f64, (f64, f64), BorderCountry)> = Vec::new();
        let mut theta_min = theta_v;
        for ring in &self.rings {
            for i in ring.start..ring.end - 1 {
                let (a, b) = (self.vertices[i], self.vertices[i + 1]);
                let (half, ch, sh) = self.half_len[i];
                if cut + half < PI {
                    // cos(cut + L/2)
                    let reach = cos_cut * ch - sin_cut * sh;
                    if dot(p, a) < reach && dot(p, b) < reach {
                        continue;
                    }
                }
                let (closest, theta) = closest_on_arc(p, a, b);
                if theta <= cut {
                    theta_min = theta_min.min(theta);
                    let at = match closest {
                        Closest::Interior(q) => lat_lon(q),
                        Closest::A => self.lat_lon[i],
                        Closest::B => self.lat_lon[i + 1],
                    };
                    candidates.push((theta, at, ring.country));
                }
            }
        }

        // 3. Geodesic distance to the candidates that may be the nearest on
        // the ellipsoid.
        let limit = theta_min * MARGIN + SLACK;
        let site = Point::new(lon, lat);
        let mut best: Option<(f64, BorderPoint)> = None;
        for (theta, (qlat, qlon), country) in candidates {
            if theta > limit {
                continue;
            }
            let metres = Geodesic.distance(site, Point::new(qlon, qlat));
            if best.is_none_or(|(d, _)| metres < d) {
                best = Some((
                    metres,
                    BorderPoint {
                        lat: qlat,
                        lon: qlon,
                        country,
                    },
                ));
            }
        }
        match best {
            Some((metres, nearest)) => BorderDistance {
                distance_km: metres / 1000.0,
                nearest,
                inside: false,
            },
            // Unreachable: the nearest vertex's segments are always candidates.
            None => BorderDistance {
                distance_km: 0.0,
                nearest: BorderPoint {
                    lat,
                    lon,
                    country: BorderCountry::Russia,
                },
                inside: false,
            },
        }
    }
}

/// A ring's planar coordinates for `geo::Contains`, which knows nothing of
/// the antimeridian. Natural Earth rings may step from -180 to 179.9 (Russia's
/// mainland and Wrangel Island do): taken literally that step is a line
/// across the whole map, and a band of latitudes around the world (northern
/// Finland, Sweden, Norway, Iceland, Alaska) would test as inside Russia.
/// Each step of more than 180° is taken the short way instead, so longitudes
/// run continuously past ±180, and the ring is then shifted by whole turns
/// to centre it in (-180, 180]. `None` for a ring that does not close after
/// unwrapping (one circling a pole; there is none in the data).
fn unwrap_longitudes(ring: &[[f64; 2]]) -> Option<Vec<Coord<f64>>> {
    let mut coords: Vec<Coord<f64>> = Vec::with_capacity(ring.len());
    let mut offset = 0.0;
    for &[lon, lat] in ring {
        if let Some(prev) = coords.last() {
            let step = lon + offset - prev.x;
            if step > 180.0 {
                offset -= 360.0;
            } else if step < -180.0 {
                offset += 360.0;
            }
        }
        coords.push(Coord {
            x: lon + offset,
            y: lat,
        });
    }
    let (first, last) = (coords.first()?, coords.last()?);
    if (first.x - last.x).abs() > 1e-9 || first.y != last.y {
        return None;
    }
    // Whole turns that bring the middle into (-180, 180].
    let turns = ((mid_longitude(&coords) - 180.0) / 360.0).ceil();
    coords.iter_mut().for_each(|c| c.x -= turns * 360.0);
    Some(coords)
}

/// The middle of a ring's longitude range.
fn mid_longitude(coords: &[Coord<f64>]) -> f64 {
    let (min, max) = coords
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), c| {
            (lo.min(c.x), hi.max(c.x))
        });
    (min + max) / 2.0
}

fn bounding_box(polygon: &Polygon<f64>) -> [f64; 4] {
    polygon.exterior().coords().fold(
        [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ],
        |b, c| [b[0].min(c.x), b[1].min(c.y), b[2].max(c.x), b[3].max(c.y)],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_data_parses_and_has_both_countries_whole() {
        let b = Borders::parse(BORDERS_JSON).unwrap();
        let stats = border_data_stats();
        assert_eq!(stats.rings, b.rings.len());
        // Natural Earth 1:10m: Belarus is one polygon, Russia 214 (islands,
        // Kaliningrad, both sides of the antimeridian).
        assert_eq!(stats.belarus_polygons, 1);
        assert_eq!(stats.russia_polygons, 214);
        assert!(stats.vertices > 37_000, "{stats:?}");
        // Nothing was cut at 60°E: the far east (Chukotka on both sides of
        // the antimeridian, the Commander Islands) is there.
        let lons: Vec<f64> = b.lat_lon.iter().map(|&(_, lon)| lon).collect();
        assert_eq!(b.lat_lon.len(), b.vertices.len());
        assert!(lons.iter().any(|&l| l > 179.0));
        assert!(lons.iter().any(|&l| l < -179.0));
        assert!(lons.iter().any(|&l| (165.0..168.5).contains(&l)));
    }

    #[test]
    fn parse_rejects_open_rings_and_unknown_countries() {
        let open = r#"{"countries":[{"code":"RU","polygons":[[[[0,0],[1,0],[1,1],[0,1]]]]}]}"#;
        assert!(Borders::parse(open).err().unwrap().contains("not closed"));
        let other = r#"{"countries":[{"code":"UA","polygons":[]}]}"#;
        assert!(Borders::parse(other).err().unwrap().contains("UA"));
    }

    #[test]
    fn kaliningrad_minsk_and_moscow_are_inside() {
        let b = borders();
        assert_eq!(b.inside(54.71, 20.51), Some(BorderCountry::Russia)); // Kaliningrad
        assert_eq!(b.inside(55.75, 37.62), Some(BorderCountry::Russia)); // Moscow
        assert_eq!(b.inside(53.90, 27.56), Some(BorderCountry::Belarus)); // Minsk
        assert_eq!(b.inside(56.95, 24.11), None); // Riga
        assert_eq!(b.inside(54.69, 25.28), None); // Vilnius
    }

    #[test]
    fn the_antimeridian_does_not_make_a_band_of_the_world_russian() {
        let b = borders();
        // Alaska, Canada, Greenland, Iceland, northern Scandinavia and
        // Finland, across the latitudes of the rings that step over ±180.
        let mut tried = 0;
        for i in 0..=40 {
            let lon = -165.0 + f64::from(i) * 4.5; // to 15°E
            for j in 0..=16 {
                let lat = 63.0 + f64::from(j) * 0.5; // to 71°N
                assert_eq!(b.inside(lat, lon), None, "{lat} {lon}");
                tried += 1;
            }
        }
        for (lat, lon) in [
            (66.50, 25.73),
            (65.58, 22.15),
            (67.86, 20.23),
            (69.65, 18.96),
        ] {
            assert_eq!(b.inside(lat, lon), None, "{lat} {lon}"); // Rovaniemi … Tromsø
        }
        assert_eq!(tried, 41 * 17);
        // And Russia on both sides of it is inside.
        for (lat, lon) in [
            (68.97, 33.07), // Murmansk
            (66.5, 175.0),  // inland Chukotka
            (56.0, 159.0),  // Kamchatka
            (66.0, -172.0), // Chukotka east of the antimeridian
            (71.2, 179.5),  // Wrangel Island, west half
            (71.2, -179.5), // Wrangel Island, east half
            (69.7, 170.3),  // Pevek
        ] {
            assert_eq!(
                b.inside(lat, lon),
                Some(BorderCountry::Russia),
                "{lat} {lon}"
            );
        }
    }

    /// Whether the great-circle arcs a–b and p–r (each shorter than π) cross.
    fn arcs_cross(a: V3, b: V3, p: V3, r: V3) -> bool {
        let (n1, n2) = (cross(a, b), cross(p, r));
        if dot(p, n1).signum() == dot(r, n1).signum() || dot(a, n2).signum() == dot(b, n2).signum()
        {
            return false;
        }
        let x = cross(n1, n2);
        let on =
            |x: V3, s: V3, e: V3, n: V3| dot(cross(s, x), n) > 0.0 && dot(cross(x, e), n) > 0.0;
        on(x, a, b, n1) == on(x, p, r, n2)
    }

    /// Inside either country by an independent method: the parity of
    /// boundary crossings of the great-circle arc from the point to a
    /// reference point in open ocean within 90° of it (spherical, so no
    /// antimeridian special case).
    fn inside_by_crossings(b: &Borders, lat: f64, lon: f64) -> bool {
        let p = unit(lat, lon);
        let r = [unit(0.0, -30.0), unit(0.0, 150.0)]
            .into_iter()
            .find(|&r| dot(p, r) >= 0.0)
            .unwrap_or(unit(0.0, 150.0));
        let mut crossings = 0;
        for ring in &b.rings {
            for i in ring.start..ring.end - 1 {
                if arcs_cross(b.vertices[i], b.vertices[i + 1], p, r) {
                    crossings += 1;
                }
            }
        }
        crossings % 2 == 1
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(150))]

        #[test]
        fn planar_containment_agrees_with_spherical_crossings(
            lat in -90.0f64..=90.0,
            lon in -180.0f64..=180.0,
            north_lat in 40.0f64..=78.0,
        ) {
            let b = borders();
            // Anywhere, and in the latitudes of Russia and its neighbours.
            for lat in [lat, north_lat] {
                proptest::prop_assert_eq!(
                    b.inside(lat, lon).is_some(),
                    inside_by_crossings(b, lat, lon),
                    "{} {}", lat, lon
                );
            }
        }
    }

    #[test]
    fn crossing_parity_knows_moscow_and_riga() {
        let b = borders();
        assert!(inside_by_crossings(b, 55.75, 37.62));
        assert!(inside_by_crossings(b, 53.90, 27.56));
        assert!(!inside_by_crossings(b, 56.95, 24.11));
        assert!(!inside_by_crossings(b, 66.50, 25.73));
    }

    #[test]
    fn unwrapping_keeps_ordinary_rings_and_closes_crossing_ones() {
        let square = [
            [10.0, 0.0],
            [11.0, 0.0],
            [11.0, 1.0],
            [10.0, 1.0],
            [10.0, 0.0],
        ];
        let xs: Vec<f64> = unwrap_longitudes(&square)
            .unwrap()
            .iter()
            .map(|c| c.x)
            .collect();
        assert_eq!(xs, [10.0, 11.0, 11.0, 10.0, 10.0]);
        let across = [
            [179.0, 0.0],
            [-179.0, 0.0],
            [-179.0, 1.0],
            [179.0, 1.0],
            [179.0, 0.0],
        ];
        let xs: Vec<f64> = unwrap_longitudes(&across)
            .unwrap()
            .iter()
            .map(|c| c.x)
            .collect();
        assert_eq!(xs, [179.0, 181.0, 181.0, 179.0, 179.0]);
        // Round the pole: never closes.
        let polar = [[0.0, 80.0], [120.0, 80.0], [-120.0, 80.0], [0.0, 80.0]];
        assert!(unwrap_longitudes(&polar).is_none());
    }

    #[test]
    fn closest_point_on_an_arc_is_interior_or_an_end() {
        let a = unit(0.0, 0.0);
        let b = unit(0.0, 10.0);
        // Above the middle of an equatorial arc: the foot is on the equator.
        let (closest, theta) = closest_on_arc(unit(5.0, 5.0), a, b);
        let Closest::Interior(q) = closest else {
            panic!("{closest:?}")
        };
        let (qlat, qlon) = lat_lon(q);
        assert!(
            qlat.abs() < 1e-9 && (qlon - 5.0).abs() < 1e-9,
            "{qlat} {qlon}"
        );
        assert!((theta.to_degrees() - 5.0).abs() < 1e-9);
        // Beyond the end: the end itself.
        let (closest, theta) = closest_on_arc(unit(1.0, 20.0), a, b);
        assert_eq!(closest, Closest::B);
        assert!((theta - angle(unit(1.0, 20.0), b)).abs() < 1e-15);
        // A degenerate arc.
        let (closest, _) = closest_on_arc(unit(3.0, 3.0), a, a);
        assert_eq!(closest, Closest::A);
    }

    #[test]
    fn a_point_on_a_long_segment_is_measured_to_the_segment_not_its_ends() {
        // Two vertices 10° apart along the equator and a point 1° north of
        // the middle: about 111 km, not the ~560 km to either end.
        let json =
            r#"{"countries":[{"code":"BY","polygons":[[[[0,0],[10,0],[10,-5],[0,-5],[0,0]]]]}]}"#;
        let b = Borders::parse(json).unwrap();
        let d = b.nearest(1.0, 5.0);
        assert!(!d.inside);
        assert!((d.distance_km - 110.57).abs() < 0.1, "{d:?}");
        assert!(d.nearest.lat.abs() < 1e-6 && (d.nearest.lon - 5.0).abs() < 1e-6);
    }
}
