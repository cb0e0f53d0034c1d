//! Field-level parsers for the value styles real FOCUS exports use.
//!
//! Date-times: FOCUS requires `YYYY-MM-DDTHH:mm:ssZ`, but exports differ, so
//! the reader accepts `2026-01-01T00:00:00Z`, `2026-01-01T00:00:00.000Z`,
//! `2026-01-01T00:00Z` (no seconds: OCI's charge periods),
//! `2026-01-01 00:00:00` (no zone: taken as UTC), `2026-01-01 00:00:00 UTC`
//! (BigQuery's CSV extracts, e.g. of GCP's FOCUS view),
//! `2026-01-01T02:00:00+02:00` (converted to UTC), `+0200` / `+02` offsets,
//! and a bare date `2026-01-01` (midnight UTC). Decimals: plain (`-12.5`) or E notation (`1.25E-3`); no
//! thousands separators, currency symbols or units.
//!
//! The parsers are hand-written over bytes: they run once per field of
//! files with millions of rows.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use rust_decimal::Decimal;

/// What a date-time field must look like, for error messages.
pub const EXPECTED_DATETIME: &str = "an ISO 8601 date-time (e.g. 2026-01-01T00:00:00Z)";
/// What a decimal field must look like, for error messages.
pub const EXPECTED_DECIMAL: &str = "a decimal number (e.g. 12.50 or 1.25E-3)";

/// True when a typed (numeric, date-time or JSON) field is null: empty, or
/// the literal `null`/`NULL` some exporters write.
pub fn is_typed_null(field: &str) -> bool {
    field.is_empty() || field == "null" || field == "NULL"
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() {
        return None;
    }
    let mut v: u32 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u32::from(c - b'0'))?;
    }
    Some(v)
}

/// Parses a date-time in one of the accepted styles into UTC.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if let Some(at) = parse_utc_fast(b) {
        return Some(at);
    }
    parse_datetime_general(text)
}

/// [`parse_datetime`] without its fast path.
fn parse_datetime_general(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let year = digits(&b[0..4])?;
    let month = digits(&b[5..7])?;
    let day = digits(&b[8..10])?;
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    if b.len() == 10 {
        return Some(Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?));
    }
    if !matches!(b[10], b'T' | b't' | b' ') || b.len() < 16 || b[13] != b':' {
        return None;
    }
    let hour = digits(&b[11..13])?;
    let minute = digits(&b[14..16])?;
    let mut i = 16;
    let mut second = 0;
    let mut nanos = 0;
    if b.get(i) == Some(&b':') {
        second = digits(b.get(i + 1..i + 3)?)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            i += 1;
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let frac = &b[start..i];
            if frac.is_empty() || frac.len() > 9 {
                return None;
            }
            nanos = digits(frac)? * 10u32.pow(u32::try_from(9 - frac.len()).ok()?);
        }
    }
    let naive = date.and_hms_nano_opt(hour, minute, second, nanos)?;
    let rest = &b[i..];
    let offset_secs: i64 = match rest {
        [] | [b'Z'] | [b'z'] | b" UTC" => 0,
        [sign @ (b'+' | b'-'), tail @ ..] => {
            let (h, m) = match tail {
                [h1, h2] => (digits(&[*h1, *h2])?, 0),
                [h1, h2, m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
                [h1, h2, b':', m1, m2] => (digits(&[*h1, *h2])?, digits(&[*m1, *m2])?),
                _ => return None,
            };
            if h > 23 || m > 59 {
                return None;
            }
            let s = i64::from(h * 3600 + m * 60);
            if *sign == b'-' { -s } else { s }
        }
        _ => return None,
    };
    let utc = Utc.from_utc_datetime(&naive);
    Some(utc - chrono::Duration::seconds(offset_secs))
}

/// The two digits at `b[i..i + 2]` as a number.
#[inline]
fn two_digits(b: &[u8], i: usize) -> Option<u32> {
    let hi = b[i].wrapping_sub(b'0');
    let lo = b[i + 1].wrapping_sub(b'0');
    (hi < 10 && lo < 10).then(|| u32::from(hi) * 10 + u32::from(lo))
}

/// A date-time in the spec's own form or its common variant,
/// `YYYY-MM-DDTHH:MM:SSZ` or `YYYY-MM-DDTHH:MM:SS.fffZ` (1 to 9 fraction
/// digits), split into numbers; the calendar is not checked yet.
struct UtcParts {
    year: u32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

#[inline]
fn utc_parts(b: &[u8]) -> Option<UtcParts> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let nanos = match &b[19..] {
        [b'Z'] => 0,
        [b'.', frac @ .., b'Z'] if !frac.is_empty() && frac.len() <= 9 => {
            let mut n = 0u32;
            for &c in frac {
                let d = c.wrapping_sub(b'0');
                if d >= 10 {
                    return None;
                }
                n = n * 10 + u32::from(d);
            }
            n * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    Some(UtcParts {
        year: two_digits(b, 0)? * 100 + two_digits(b, 2)?,
        month: two_digits(b, 5)?,
        day: two_digits(b, 8)?,
        hour: two_digits(b, 11)?,
        minute: two_digits(b, 14)?,
        second: two_digits(b, 17)?,
        nanos,
    })
}

impl UtcParts {
    fn date(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(i32::try_from(self.year).ok()?, self.month, self.day)
    }

    fn on(&self, date: NaiveDate) -> Option<DateTime<Utc>> {
        Some(
            date.and_hms_nano_opt(self.hour, self.minute, self.second, self.nanos)?
                .and_utc(),
        )
    }
}

/// The fast path of [`parse_datetime`] for [`UtcParts`]' forms: the same
/// chrono checks and result as the general path, without its offset
/// arithmetic. `None` means "not this form, or not valid": the general
/// path decides.
fn parse_utc_fast(b: &[u8]) -> Option<DateTime<Utc>> {
    let p = utc_parts(b)?;
    p.on(p.date()?)
}

/// What the row checks remember from row to row (see [`DateCache`] and
/// [`TagsCache`]); one per reader or worker.
#[derive(Clone, Debug, Default)]
pub(crate) struct RowCache {
    pub(crate) dates: DateCache,
    pub(crate) tags: TagsCache,
}

/// Tags texts already found to be JSON objects of scalars, direct-mapped
/// by a cheap hash: exports repeat a few tag sets on millions of rows, so
/// most Tags fields are one comparison instead of a JSON parse. Only
/// accepted texts are stored, so a hit gives what the check gives.
#[derive(Clone, Debug, Default)]
pub(crate) struct TagsCache {
    slots: Vec<String>,
}

impl TagsCache {
    const SLOTS: usize = 1024;
    /// Longer texts are not kept.
    const MAX_LEN: usize = 512;

    /// [`is_scalar_json_object`], remembered.
    #[inline]
    pub(crate) fn is_scalar_json_object(&mut self, text: &str) -> bool {
        if self.slots.is_empty() {
            self.slots = vec![String::new(); Self::SLOTS];
        }
        let slot = &mut self.slots[Self::slot_of(text.as_bytes())];
        if !slot.is_empty() && slot == text {
            return true;
        }
        let ok = is_scalar_json_object(text);
        if ok && text.len() <= Self::MAX_LEN {
            slot.clear();
            slot.push_str(text);
        }
        ok
    }

    /// The length and the last 16 bytes (where tag sets tend to differ),
    /// mixed.
    fn slot_of(b: &[u8]) -> usize {
        let word = |from: usize| {
            let mut w = [0u8; 8];
            let part = &b[from.min(b.len())..b.len().min(from + 8)];
            w[..part.len()].copy_from_slice(part);
            u64::from_le_bytes(w)
        };
        let tail = b.len().saturating_sub(16);
        let h = (word(tail) ^ word(tail + 8).rotate_left(29) ^ b.len() as u64)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> 54) as usize % Self::SLOTS
    }
}

/// `b == raw[..b.len()]` for `b` of 8 to 32 bytes, eight bytes at a time
/// (no call); false for other lengths.
#[inline(always)]
fn same_short(raw: &[u8; 32], b: &[u8]) -> bool {
    let n = b.len();
    if !(8..=32).contains(&n) {
        return false;
    }
    let word = |s: &[u8], i: usize| u64::from_le_bytes(s[i..i + 8].try_into().unwrap_or_default());
    let mut i = 0;
    while i + 8 < n {
        if word(raw, i) != word(b, i) {
            return false;
        }
        i += 8;
    }
    word(raw, n - 8) == word(b, n - 8)
}

/// The last parsed value of each of a few date-time columns with its raw
/// text: billing periods repeat on every row of a month, so most of those
/// fields are one comparison instead of a parse; charge periods change
/// every row but mostly keep their day, whose date is reused.
#[derive(Clone, Debug, Default)]
pub(crate) struct DateCache {
    slots: [DateSlot; 4],
}

#[derive(Clone, Copy, Debug, Default)]
struct DateSlot {
    len: u8,
    raw: [u8; 32],
    value: Option<DateTime<Utc>>,
    /// The date of the last [`UtcParts`] value, with its `YYYY-MM-DD`.
    day: Option<([u8; 10], NaiveDate)>,
}

impl DateCache {
    /// [`parse_datetime`] through slot `slot` (0 to 3).
    #[inline]
    pub(crate) fn parse(&mut self, slot: usize, text: &str) -> Option<DateTime<Utc>> {
        let s = &mut self.slots[slot];
        let b = text.as_bytes();
        if s.value.is_some() && usize::from(s.len) == b.len() && same_short(&s.raw, b) {
            return s.value;
        }
        let value = match utc_parts(b) {
            Some(p) => {
                let date = match s.day {
                    Some((raw, date)) if raw == b[..10] => date,
                    _ => {
                        let date = p.date()?;
                        let mut raw = [0; 10];
                        raw.copy_from_slice(&b[..10]);
                        s.day = Some((raw, date));
                        date
                    }
                };
                p.on(date)?
            }
            None => parse_datetime(text)?,
        };
        if let (Some(raw), Ok(len)) = (s.raw.get_mut(..b.len()), u8::try_from(b.len())) {
            raw.copy_from_slice(b);
            s.len = len;
            s.value = Some(value);
        }
        Some(value)
    }
}

/// Parses a FOCUS numeric value: an integer, a decimal with `.`, or E
/// notation. Returns `None` for anything else (commas, symbols, units,
/// `NaN`, out of range).
#[inline(always)]
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    // The common case first: what the fast path takes, the general checks
    // accept, and it gives what they would give.
    match parse_plain_decimal(text.as_bytes()) {
        Some(d) => Some(d),
        None => parse_decimal_general(text),
    }
}

/// [`parse_decimal`] for what its fast path does not take.
#[inline(never)]
fn parse_decimal_general(text: &str) -> Option<Decimal> {
    let b = text.as_bytes();
    if b.is_empty() {
        return None;
    }
    let mut has_exp = false;
    let mut has_digit = false;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'0'..=b'9' => has_digit = true,
            b'.' => {}
            b'-' | b'+' => {
                // a sign only at the start or right after the exponent marker
                if i != 0 && !matches!(b[i - 1], b'e' | b'E') {
                    return None;
                }
            }
            b'e' | b'E' => {
                if has_exp || !has_digit {
                    return None;
                }
                has_exp = true;
            }
            _ => return None,
        }
    }
    if !has_digit {
        return None;
    }
    if has_exp {
        Decimal::from_scientific(text).ok()
    } else {
        if b.iter().filter(|&&c| c == b'.').count() > 1 {
            return None;
        }
        text.parse::<Decimal>().ok()
    }
}

/// The fast path of [`parse_decimal`]: `[+-]digits[.digits]` with at most
/// 18 digits in all, which fits a `u64` mantissa exactly. Gives the same
/// mantissa, scale and sign as `rust_decimal`'s `from_str` (a property
/// test checks this); anything else returns `None` and takes the general
/// path.
#[inline(always)]
fn parse_plain_decimal(b: &[u8]) -> Option<Decimal> {
    let (negative, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut mantissa: u64 = 0;
    let mut count = 0u32;
    let mut scale: Option<u32> = None;
    for (i, &c) in digits.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                mantissa = mantissa * 10 + u64::from(c - b'0');
                count += 1;
            }
            b'.' if scale.is_none() && i > 0 && i + 1 < digits.len() => {
                scale = Some(u32::try_from(digits.len() - i - 1).ok()?);
            }
            _ => return None,
        }
    }
    if count > 18 {
        return None;
    }
    // `as` is exact here: the low and middle 32 bits of a u64.
    let lo = (mantissa & 0xFFFF_FFFF) as u32;
    let mid = (mantissa >> 32) as u32;
    Some(Decimal::from_parts(
        lo,
        mid,
        0,
        negative,
        scale.unwrap_or(0),
    ))
}

/// True when `text` is a JSON object whose values are all scalars
/// (strings, numbers, booleans, null): FOCUS KeyValueFormat. Accepts
/// exactly what `serde_json::from_str::<Tags>` accepts, without building
/// the map.
pub fn is_scalar_json_object(text: &str) -> bool {
    serde_json::from_str::<ScalarObject>(text).is_ok()
}

struct ScalarObject;

impl<'de> serde::Deserialize<'de> for ScalarObject {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ScalarObjectVisitor)
    }
}

struct ScalarObjectVisitor;

impl<'de> serde::de::Visitor<'de> for ScalarObjectVisitor {
    type Value = ScalarObject;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object of scalar values")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<ScalarObject, A::Error> {
        while map.next_key::<serde::de::IgnoredAny>()?.is_some() {
            map.next_value::<Scalar>()?;
        }
        Ok(ScalarObject)
    }
}

struct Scalar;

impl<'de> serde::Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> serde::de::Visitor<'de> for ScalarVisitor {
    type Value = Scalar;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string, number, boolean or null")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Scalar, E> {
        Ok(Scalar)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Scalar, E> {
        Ok(Scalar)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Scalar, E> {
        Ok(Scalar)
    }
    fn visit_str<E>(self, _: &str) -> Result<Scalar, E> {
        Ok(Scalar)
    }
    fn visit_unit<E>(self) -> Result<Scalar, E> {
        Ok(Scalar)
    }
    fn visit_none<E>(self) -> Result<Scalar, E> {
        Ok(Scalar)
    }
}

/// Formats a UTC date-time the way FOCUS requires: `YYYY-MM-DDTHH:mm:ssZ`.
/// Sub-second precision is dropped (the spec's format has none).
pub fn format_datetime(at: &DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Formats a decimal in FOCUS numeric format: no exponent, no `+`, no
/// trailing zeros after the point, `-` only for negative non-zero values.
pub fn format_decimal(value: &Decimal) -> String {
    let v = value.normalize();
    if v.is_zero() {
        "0".to_owned()
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        s.parse().expect("literal")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("rfc3339")
            .with_timezone(&Utc)
    }

    #[test]
    fn datetime_styles_real_exports_use() {
        let want = utc("2026-01-01T00:00:00Z");
        for s in [
            "2026-01-01T00:00:00Z",
            "2026-01-01 00:00:00",
            "2026-01-01T00:00:00.000Z",
            "2026-01-01T00:00:00",
            "2026-01-01T02:00:00+02:00",
            "2026-01-01T02:00:00+0200",
            "2026-01-01T02:00:00+02",
            "2025-12-31T19:00:00-05:00",
            "2026-01-01 00:00:00+00:00",
            "2026-01-01T00:00Z",
            "2026-01-01T02:00+02:00",
            "2026-01-01 00:00:00 UTC",
            "2026-01-01 00:00:00.000000 UTC",
            "2026-01-01T00:00:00.000000000Z",
            "2026-01-01",
        ] {
            assert_eq!(parse_datetime(s), Some(want), "{s}");
        }
        // OCI: a billing period that ends on the month's last millisecond,
        // and charge periods without seconds.
        assert_eq!(
            parse_datetime("2024-08-31T23:59:59.999Z"),
            Some(utc("2024-09-01T00:00:00Z") - chrono::Duration::milliseconds(1))
        );
        assert_eq!(
            parse_datetime("2024-08-16T01:00Z"),
            Some(utc("2024-08-16T01:00:00Z"))
        );
        // BigQuery with microseconds.
        assert_eq!(
            parse_datetime("2026-01-31 23:15:00.123456 UTC"),
            Some(utc("2026-01-31T23:15:00.123456Z"))
        );
        assert_eq!(
            parse_datetime("2026-01-01T00:00:00.123456Z"),
            Some(utc("2026-01-01T00:00:00.123456Z"))
        );
    }

    #[test]
    fn date_cache_follows_changing_values() {
        let mut cache = DateCache::default();
        for t in [
            "2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z",
            "2026-01-01T05:00:00.5Z",
            "2026-01-02T05:00:00Z",
            "2026-02-30T05:00:00Z",
            "2026-01-02T05:00:00+02:00",
            "2026-01-02",
            "2024-02-29T23:59:59.999999999Z",
            "2023-02-29T23:59:59Z",
            "2026-01-02T05:00:00Z",
        ] {
            assert_eq!(cache.parse(1, t), parse_datetime_general(t), "{t}");
        }
    }

    #[test]
    fn datetime_rejects() {
        for s in [
            "",
            "01/02/2026",
            "2026-13-01T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01T25:00:00Z",
            "2026-01-01T00:00:00 Z",
            "2026-01-01 00:00:00 UTC+2",
            "2026-01-01 00:00:00 utc",
            "2026-01-01 00:00:00UTC",
            "2026-01-01 00:00:00 EET",
            "2026-01-01T00:00:00.Z",
            "2026-01-01X00:00:00Z",
            "2026-01-01T00:00:00+2",
            "2026-1-01T00:00:00Z",
            "١٢٣٤-01-01",
        ] {
            assert_eq!(parse_datetime(s), None, "{s}");
        }
    }

    #[test]
    fn decimals() {
        assert_eq!(parse_decimal("12.50"), Some(dec("12.50")));
        assert_eq!(parse_decimal("-0.0001"), Some(dec("-0.0001")));
        assert_eq!(parse_decimal("1.25E-3"), Some(dec("0.00125")));
        assert_eq!(parse_decimal("5e2"), Some(dec("500")));
        assert_eq!(parse_decimal("7"), Some(dec("7")));
        for bad in [
            "", "1,000.00", "€5", "5 EUR", "NaN", "1/2", "1.2.3", "--1", "1-2", "e5", ".", "-",
        ] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }

    /// The fast path gives what rust_decimal's own parser gives: the same
    /// value, scale and sign.
    fn same_as_rust_decimal(text: &str) {
        let fast = parse_plain_decimal(text.as_bytes());
        let general = text.parse::<Decimal>().ok();
        if let Some(f) = fast {
            let g = general.unwrap_or_else(|| panic!("{text}: fast parsed, rust_decimal did not"));
            assert_eq!(
                (f.mantissa(), f.scale(), f.is_sign_negative()),
                (g.mantissa(), g.scale(), g.is_sign_negative()),
                "{text}"
            );
        }
        // Whatever the path, parse_decimal agrees with rust_decimal on plain input.
        if let Some(p) = parse_decimal(text) {
            let g = general.unwrap_or_else(|| panic!("{text}: parsed, rust_decimal did not"));
            assert_eq!(
                (p.mantissa(), p.scale()),
                (g.mantissa(), g.scale()),
                "{text}"
            );
        }
    }

    #[test]
    fn fast_decimals_match_rust_decimal() {
        for t in [
            "0",
            "-0",
            "+0",
            "0.0",
            "-0.000",
            "12.50",
            "007.5",
            "-12.3456",
            "+4.2",
            "999999999999999999",
            "-999999999999999999",
            "0.000000000000000001",
            "1234567890.12345678",
            "18446744073709551615",
            "1.",
            ".5",
            "-.5",
            "1.2.3",
            "1e5",
            "9999999999999999999",
            "0.1234567890123456789",
        ] {
            same_as_rust_decimal(t);
        }
        assert!(parse_plain_decimal(b"12.50").is_some());
        assert!(parse_plain_decimal(b"-0.0001").is_some());
    }

    proptest::proptest! {
        #[test]
        fn fast_decimals_match_rust_decimal_on_random_input(
            sign in "[-+]?", int in "[0-9]{1,20}", frac in proptest::option::of("[0-9]{0,20}")
        ) {
            let text = match &frac {
                Some(f) => format!("{sign}{int}.{f}"),
                None => format!("{sign}{int}"),
            };
            same_as_rust_decimal(&text);
        }

        #[test]
        fn fast_decimals_match_rust_decimal_on_any_text(text in "[-+.0-9eE]{0,24}") {
            same_as_rust_decimal(&text);
        }

        #[test]
        fn fast_datetimes_match_the_general_path(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,10})?Z?",
            year in 0u32..10_000, month in 0u32..14, day in 0u32..33,
            hour in 0u32..25, minute in 0u32..61, second in 0u32..61,
            frac in "(\\.[0-9]{1,10})?",
        ) {
            let built = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}{frac}Z");
            for t in [text.as_str(), built.as_str()] {
                let fast = parse_utc_fast(t.as_bytes());
                if fast.is_some() {
                    proptest::prop_assert_eq!(fast, parse_datetime_general(t), "{}", t);
                }
                proptest::prop_assert_eq!(parse_datetime(t), parse_datetime_general(t), "{}", t);
                let mut cache = DateCache::default();
                for _ in 0..2 {
                    proptest::prop_assert_eq!(cache.parse(0, t), parse_datetime_general(t), "{}", t);
                }
            }
        }

        #[test]
        fn tag_check_accepts_what_the_tags_parse_accepts(text in r#"\{?("[a-z:]{0,3}"[:,]? ?|[0-9.e-]{1,4}|true|null|\[|\]|\{|\}|,| ){0,8}\}?"#) {
            let check = is_scalar_json_object(&text);
            let full = serde_json::from_str::<crate::focus::Tags>(&text).is_ok_and(|t| {
                t.values().all(|v| !v.is_object() && !v.is_array())
            });
            proptest::prop_assert_eq!(check, full, "{}", text);
            let mut cache = TagsCache::default();
            for _ in 0..2 {
                proptest::prop_assert_eq!(cache.is_scalar_json_object(&text), check, "{}", text);
            }
        }
    }

    #[test]
    fn tag_check() {
        for ok in [
            r#"{}"#,
            r#"{"a":"b","n":1.5,"t":true,"z":null}"#,
            r#" { "a" : -1e3 } "#,
            r#"{"a":1,"a":2}"#,
        ] {
            assert!(is_scalar_json_object(ok), "{ok}");
        }
        for bad in [
            "",
            "null",
            "[]",
            r#"{"a":[1]}"#,
            r#"{"a":{"b":1}}"#,
            "env=prod",
            r#"{"a":1}x"#,
            r#"{"a":1e999}"#,
        ] {
            assert!(!is_scalar_json_object(bad), "{bad}");
        }
    }

    #[test]
    fn formats() {
        assert_eq!(format_decimal(&dec("12.500")), "12.5");
        assert_eq!(format_decimal(&dec("-0.000")), "0");
        assert_eq!(format_decimal(&dec("100")), "100");
        assert_eq!(
            format_datetime(&utc("2026-01-01T00:00:00.5Z")),
            "2026-01-01T00:00:00Z"
        );
    }
}
