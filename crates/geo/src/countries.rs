//! Country codes: the ISO 3166-1 alpha-2 list, and the member states of the
//! European Union and of NATO that criterion 2 of EMB-1 accepts.
//!
//! The lists are law of a given date, not data that updates itself: when a
//! state joins or leaves, change the constant, its date comment and the
//! count in its type, and the tests below will check the rest.

/// The 27 member states of the European Union, as of 2024 (unchanged since
/// the United Kingdom left on 31 January 2020). ISO 3166-1 alpha-2; Greece is
/// `GR` here, not the EU's own abbreviation `EL`.
pub const EU_MEMBERS: [&str; 27] = [
    "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT",
    "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
];

/// The 32 member states of NATO, as of 2024: Finland joined on 4 April 2023
/// and Sweden on 7 March 2024. ISO 3166-1 alpha-2; the United Kingdom is `GB`.
pub const NATO_MEMBERS: [&str; 32] = [
    "AL", "BE", "BG", "CA", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GB", "GR", "HR", "HU", "IS",
    "IT", "LT", "LU", "LV", "ME", "MK", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK", "TR", "US",
];

/// Every officially assigned ISO 3166-1 alpha-2 code (249, as of 2024).
/// User-assigned codes such as `XK` (Kosovo) and the reserved `UK` and `EL`
/// are not in it.
pub const ISO_3166_ALPHA2: [&str; 249] = [
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];

/// Latvia: a data embassy must be outside it.
pub const LATVIA: &str = "LV";

/// Whether `code` (upper-case alpha-2) is an EU member state.
pub fn is_eu(code: &str) -> bool {
    EU_MEMBERS.binary_search(&code).is_ok()
}

/// Whether `code` (upper-case alpha-2) is a NATO member state.
pub fn is_nato(code: &str) -> bool {
    NATO_MEMBERS.binary_search(&code).is_ok()
}

/// Whether `code` (upper-case alpha-2) is an assigned ISO 3166-1 code.
pub fn is_assigned(code: &str) -> bool {
    ISO_3166_ALPHA2.binary_search(&code).is_ok()
}

/// The ISO code meant by a common non-ISO abbreviation, if `code` is one.
pub fn iso_for_alias(code: &str) -> Option<&'static str> {
    match code {
        "UK" => Some("GB"),
        "EL" => Some("GR"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strictly_sorted(list: &[&str]) -> bool {
        list.windows(2).all(|w| w[0] < w[1])
    }

    #[test]
    fn lists_are_sorted_unique_upper_case_pairs_so_binary_search_works() {
        for list in [&EU_MEMBERS[..], &NATO_MEMBERS[..], &ISO_3166_ALPHA2[..]] {
            assert!(strictly_sorted(list), "{list:?}");
            for code in list {
                assert_eq!(code.len(), 2, "{code}");
                assert!(code.bytes().all(|b| b.is_ascii_uppercase()), "{code}");
            }
        }
    }

    #[test]
    fn every_member_state_has_an_assigned_iso_code() {
        for code in EU_MEMBERS.iter().chain(NATO_MEMBERS.iter()) {
            assert!(is_assigned(code), "{code}");
        }
        assert!(is_assigned(LATVIA));
        assert!(!is_assigned("UK"));
        assert!(!is_assigned("EL"));
        assert!(!is_assigned("XK"));
    }

    #[test]
    fn membership_as_of_2024() {
        // Both: Latvia and its neighbours; the 2023/2024 NATO accessions.
        for code in ["LV", "LT", "EE", "PL", "FI", "SE", "DE", "PT"] {
            assert!(is_eu(code) && is_nato(code), "{code}");
        }
        // NATO, not EU.
        for code in ["NO", "IS", "GB", "US", "CA", "TR", "AL", "ME", "MK"] {
            assert!(is_nato(code) && !is_eu(code), "{code}");
        }
        // EU, not NATO.
        for code in ["IE", "AT", "CY", "MT"] {
            assert!(is_eu(code) && !is_nato(code), "{code}");
        }
        // Neither.
        for code in ["CH", "RU", "BY", "UA", "RS", "LI"] {
            assert!(!is_eu(code) && !is_nato(code), "{code}");
        }
        // 27 + 32 with 23 in both.
        let both = EU_MEMBERS.iter().filter(|c| is_nato(c)).count();
        assert_eq!(both, 23);
    }

    #[test]
    fn aliases_point_to_the_iso_codes() {
        assert_eq!(iso_for_alias("UK"), Some("GB"));
        assert_eq!(iso_for_alias("EL"), Some("GR"));
        assert_eq!(iso_for_alias("GB"), None);
    }
}
