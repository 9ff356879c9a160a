//! Phone numbers to E.164, as Klaviyo's `phone_number` requires.
//!
//! Rules, in order:
//! 1. An extension (`x12`, `ext. 12`, `#12`) is cut off.
//! 2. Spaces, dashes, dots, parentheses and slashes are dropped; any other character that is not
//!    a digit (or a leading `+`) makes the number unusable.
//! 3. `+CC…` is taken as international; so is `00CC…` (the international prefix of most of the
//!    world) and, for a North American order, `011CC…`.
//! 4. A number without any of these prefixes has no country code. It is completed only when the
//!    order's country is in the North American Numbering Plan (US, CA, PR and the other `+1`
//!    countries) and the number has the NANP shape: ten digits, or eleven starting with `1`.
//!    Every other national number is treated as absent: inferring a country code elsewhere
//!    needs per-country trunk-prefix rules (Italy keeps its leading 0, the UK drops it) that
//!    this crate does not carry, and a wrong guess would attach the event to a stranger.
//! 5. The result must have 7 to 15 digits (E.164's maximum) and not start with 0; a `+1` number
//!    must have exactly 11 digits and an area code starting 2–9.

/// ISO 3166-1 alpha-2 codes of the countries in the North American Numbering Plan (`+1`).
const NANP: &[&str] = &[
    "US", "CA", "PR", "VI", "GU", "AS", "MP", "UM", "AG", "AI", "BB", "BM", "BS", "DM", "DO", "GD",
    "JM", "KN", "KY", "LC", "MS", "SX", "TC", "TT", "VC", "VG",
];

fn is_nanp(country: Option<&str>) -> bool {
    country.is_some_and(|c| {
        let c = c.trim().to_ascii_uppercase();
        matches!(c.as_str(), "USA" | "CAN") || NANP.contains(&c.as_str())
    })
}

/// Normalizes `raw` to E.164 (`+15005550006`), or `None` when it cannot be done without
/// guessing. `country` is the order's ISO 3166-1 alpha-2 country (ship-to, else bill-to), used
/// only to complete North American numbers written without a country code.
///
/// ```
/// use orderport_klaviyo::to_e164;
///
/// assert_eq!(to_e164("+44 20 7946 0958", None).as_deref(), Some("+442079460958"));
/// assert_eq!(to_e164("(500) 555-0006", Some("US")).as_deref(), Some("+15005550006"));
/// assert_eq!(to_e164("020 7946 0958", Some("GB")), None); // no safe inference outside +1
/// assert_eq!(to_e164("5005550006", None), None); // no country code, no country
/// ```
pub fn to_e164(raw: &str, country: Option<&str>) -> Option<String> {
    let lower = raw.trim().to_ascii_lowercase();
    let cut = ["ext", "x", "#"]
        .iter()
        .filter_map(|mark| lower.find(mark))
        .min()
        .unwrap_or(lower.len());
    let number = lower.get(..cut)?.trim();
    let plus = number.starts_with('+');
    let mut digits = String::with_capacity(number.len());
    for (i, c) in number.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => return None,
        }
    }
    let nanp = is_nanp(country);
    let international = if plus {
        digits
    } else if let Some(rest) = digits.strip_prefix("00") {
        rest.to_owned()
    } else if let Some(rest) = digits.strip_prefix("011").filter(|_| nanp) {
        rest.to_owned()
    } else if nanp && digits.len() == 10 {
        format!("1{digits}")
    } else if nanp && digits.len() == 11 && digits.starts_with('1') {
        digits
    } else {
        return None;
    };
    valid(&international).then(|| format!("+{international}"))
}

fn valid(digits: &str) -> bool {
    let len = digits.len();
    if !(7..=15).contains(&len) || digits.starts_with('0') {
        return false;
    }
    if digits.starts_with('1') {
        return len == 11 && matches!(digits.as_bytes().get(1), Some(b'2'..=b'9'));
    }
    true
}

#[cfg(test)]
mod tests {
    use super::to_e164;

    #[test]
    fn international_forms_are_kept() {
        for (raw, e164) in [
            ("+1 (500) 555-0006", "+15005550006"),
            ("+44 20 7946 0958", "+442079460958"),
            ("0044 20 7946 0958", "+442079460958"),
            ("+49 30/123456", "+4930123456"),
            ("+33.1.23.45.67.89", "+33123456789"),
        ] {
            assert_eq!(to_e164(raw, None).as_deref(), Some(e164), "{raw}");
        }
    }

    #[test]
    fn north_american_numbers_are_completed_only_for_nanp_orders() {
        assert_eq!(
            to_e164("500-555-0006", Some("US")).as_deref(),
            Some("+15005550006")
        );
        assert_eq!(
            to_e164("1 500 555 0006", Some("ca")).as_deref(),
            Some("+15005550006")
        );
        assert_eq!(
            to_e164("011 44 20 7946 0958", Some("US")).as_deref(),
            Some("+442079460958")
        );
        assert_eq!(
            to_e164("(500) 555-0006 x123", Some("US")).as_deref(),
            Some("+15005550006")
        );
        assert_eq!(to_e164("500-555-0006", None), None);
        assert_eq!(to_e164("500-555-0006", Some("DE")), None);
        assert_eq!(to_e164("030 123456", Some("DE")), None);
    }

    #[test]
    fn garbage_is_absent() {
        for raw in [
            "",
            "n/a",
            "call me",
            "+",
            "+0123456789",
            "+1 012 555 0006",
            "+1 500 555 000",
            "+1234567890123456",
            "12345",
        ] {
            assert_eq!(to_e164(raw, Some("US")), None, "{raw:?}");
        }
    }
}
