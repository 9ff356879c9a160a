//! Phone numbers to E.164, as Klaviyo's `phone_number` requires.
//!
//! Rules, in order:
//! 1. An extension (`x12`, `ext. 12`, `#12`) is cut off.
//! 2. Spaces, dashes, dots, parentheses and slashes are dropped; any other character that is not
//!    a digit (or a leading `+`) makes the number unusable.
//! 3. The number is read by the `phonenumber` crate (Google's libphonenumber metadata) with the
//!    order's country as the default region: `+CC…` is international wherever the order is;
//!    a national number is completed with the country's calling code and trunk-prefix rules
//!    (`030 1234567` for a DE order is `+49301234567`, `020 7946 0958` for a GB order is
//!    `+442079460958`), and the country's international prefix (`00`, `011`) is understood.
//!    `00CC…` is also taken as international when the order has no country.
//! 4. The number must be valid for its country by that metadata (a length and a range the
//!    country assigns); otherwise, and when a national number comes without a country, it is
//!    treated as absent: a wrong guess would attach the event to a stranger.

use phonenumber::country::Id;
use phonenumber::Mode;

/// The default region for national numbers: the order's ISO 3166-1 alpha-2 country (`USA` and
/// `CAN` are accepted too, as some stores write them).
fn region(country: Option<&str>) -> Option<Id> {
    let code = country?.trim().to_ascii_uppercase();
    let code = match code.as_str() {
        "USA" => "US",
        "CAN" => "CA",
        other => other,
    };
    code.parse::<Id>().ok()
}

/// Normalizes `raw` to E.164 (`+15005550006`), or `None` when it cannot be done without
/// guessing. `country` is the order's ISO 3166-1 alpha-2 country (ship-to, else bill-to), the
/// default region for numbers written without a country code.
///
/// ```
/// use orderport_klaviyo::to_e164;
///
/// assert_eq!(to_e164("+44 20 7946 0958", None).as_deref(), Some("+442079460958"));
/// assert_eq!(to_e164("(212) 555-0123", Some("US")).as_deref(), Some("+12125550123"));
/// assert_eq!(to_e164("030 1234567", Some("DE")).as_deref(), Some("+49301234567"));
/// assert_eq!(to_e164("020 7946 0958", Some("GB")).as_deref(), Some("+442079460958"));
/// assert_eq!(to_e164("2125550123", None), None); // no country code, no country
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
    let mut digits = String::with_capacity(number.len() + 1);
    for (i, c) in number.chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '+' if i == 0 => {}
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => return None,
        }
    }
    let region = region(country);
    let text = if plus {
        format!("+{digits}")
    } else if let Some(rest) = digits.strip_prefix("00").filter(|_| region.is_none()) {
        format!("+{rest}")
    } else {
        digits
    };
    let parsed = phonenumber::parse(region, &text).ok()?;
    if !phonenumber::is_valid(&parsed) {
        return None;
    }
    let e164 = parsed.format().mode(Mode::E164).to_string();
    e164.strip_prefix('+')
        .is_some_and(|d| (7..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
        .then_some(e164)
}

#[cfg(test)]
mod tests {
    use super::to_e164;

    #[test]
    fn international_forms_are_kept() {
        for (raw, e164) in [
            ("+1 (212) 555-0123", "+12125550123"),
            ("+44 20 7946 0958", "+442079460958"),
            ("0044 20 7946 0958", "+442079460958"),
            ("+49 30/1234567", "+49301234567"),
            ("+33.1.23.45.67.89", "+33123456789"),
        ] {
            assert_eq!(to_e164(raw, None).as_deref(), Some(e164), "{raw}");
        }
    }

    #[test]
    fn national_numbers_take_the_orders_country() {
        for (raw, country, e164) in [
            ("212-555-0123", "US", "+12125550123"),
            ("1 212 555 0123", "CA", "+12125550123"),
            ("(212) 555-0123 x123", "US", "+12125550123"),
            ("212 555 0123", "USA", "+12125550123"),
            ("011 44 20 7946 0958", "US", "+442079460958"),
            // The seed's case: a German number without its country code.
            ("030 1234567", "DE", "+49301234567"),
            ("0049 30 1234567", "DE", "+49301234567"),
            // The UK drops its trunk 0, Italy keeps its leading 0.
            ("020 7946 0958", "GB", "+442079460958"),
            ("06 6982 1234", "IT", "+390669821234"),
            ("01 23 45 67 89", "FR", "+33123456789"),
            ("03-1234-5678", "JP", "+81312345678"),
            ("0412 345 678", "au", "+61412345678"),
        ] {
            assert_eq!(
                to_e164(raw, Some(country)).as_deref(),
                Some(e164),
                "{raw} ({country})"
            );
        }
    }

    #[test]
    fn a_national_number_without_a_country_is_absent() {
        assert_eq!(to_e164("212-555-0123", None), None);
        assert_eq!(to_e164("030 1234567", None), None);
        assert_eq!(to_e164("030 1234567", Some("ZZ")), None);
    }

    #[test]
    fn garbage_and_impossible_numbers_are_absent() {
        for raw in [
            "",
            "n/a",
            "call me",
            "+",
            "+0123456789",
            "+1 012 555 0123",
            "+1 212 555 012",
            "+1234567890123456",
            "12345",
        ] {
            assert_eq!(to_e164(raw, Some("US")), None, "{raw:?}");
        }
        // A German number too short to be assigned.
        assert_eq!(to_e164("030 12", Some("DE")), None);
    }
}
