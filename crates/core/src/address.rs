//! ISO 3166 checks for addresses, backed by the `rust_iso3166` dataset.
//!
//! A wrong code is never fixed silently: the reason suggests the right code ("California" → "CA",
//! "USA" → "US") and the order is rejected until the channel sends the code.

use crate::rejection::{ReasonCode, RejectionReason};

/// Checks that `country` is an ISO 3166-1 alpha-2 code. The reason's field is `country`.
pub fn check_country(country: &str) -> Result<(), RejectionReason> {
    let trimmed = country.trim();
    if trimmed.len() == 2
        && trimmed.bytes().all(|b| b.is_ascii_uppercase())
        && rust_iso3166::from_alpha2(trimmed).is_some()
    {
        return Ok(());
    }
    let hint = match suggest_country(trimmed) {
        Some(code) => format!("; use \"{code}\""),
        None => "; use a two-letter code such as \"US\"".to_owned(),
    };
    Err(RejectionReason::new(
        "country",
        ReasonCode::InvalidCountryCode,
        format!("country {country:?} is not an ISO 3166-1 alpha-2 code{hint}"),
    ))
}

/// The alpha-2 code a country text most likely meant: a lower-case code, an alpha-3 code or an
/// English name from the dataset.
pub fn suggest_country(text: &str) -> Option<String> {
    let upper = text.trim().to_ascii_uppercase();
    if upper.len() == 2 && rust_iso3166::from_alpha2(&upper).is_some() {
        return Some(upper);
    }
    if upper.len() == 3 {
        if let Some(country) = rust_iso3166::from_alpha3(&upper) {
            return Some(country.alpha2.to_owned());
        }
    }
    let wanted = normalize_name(text);
    if wanted.is_empty() {
        return None;
    }
    let by_name = |exact: bool| {
        rust_iso3166::ALL.iter().find(|c| {
            let name = normalize_name(c.name);
            if exact {
                name == wanted
            } else {
                name.starts_with(&wanted) && wanted.len() >= 4
            }
        })
    };
    by_name(true)
        .or_else(|| by_name(false))
        .map(|c| c.alpha2.to_owned())
}

/// Checks that `state` is an ISO 3166-2 subdivision code of `country` (the part after the dash:
/// `CA` for `US-CA`). Countries the dataset lists no subdivisions for accept any state. The
/// reason's field is `state`.
pub fn check_state(country: &str, state: &str) -> Result<(), RejectionReason> {
    let Some(subdivisions) = subdivisions(country) else {
        return Ok(());
    };
    let trimmed = state.trim();
    if subdivisions.iter().any(|s| s.region_code == trimmed) {
        return Ok(());
    }
    let hint = match suggest_state(country, trimmed) {
        Some(code) => format!("; use \"{code}\""),
        None => format!(
            "; use the subdivision code, such as \"{}\"",
            subdivisions[0].region_code
        ),
    };
    Err(RejectionReason::new(
        "state",
        ReasonCode::InvalidStateCode,
        format!("state {state:?} is not an ISO 3166-2 code for {country}{hint}"),
    ))
}

/// The subdivision code a state text most likely meant: a code in the wrong case, a full code
/// (`US-CA`) or an English name from the dataset.
pub fn suggest_state(country: &str, text: &str) -> Option<String> {
    let subdivisions = subdivisions(country)?;
    let upper = text.trim().to_ascii_uppercase();
    let code_only = upper
        .strip_prefix(country)
        .and_then(|rest| rest.strip_prefix('-'))
        .unwrap_or(&upper);
    if let Some(s) = subdivisions.iter().find(|s| s.region_code == code_only) {
        return Some(s.region_code.to_owned());
    }
    let wanted = normalize_name(text);
    subdivisions
        .iter()
        .find(|s| normalize_name(s.name) == wanted)
        .map(|s| s.region_code.to_owned())
}

fn subdivisions(country: &str) -> Option<&'static [rust_iso3166::iso3166_2::Subdivision]> {
    rust_iso3166::iso3166_2::SUBDIVISION_COUNTRY_MAP
        .get(country)
        .copied()
        .filter(|list| !list.is_empty())
}

fn normalize_name(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_codes_pass() {
        assert!(check_country("US").is_ok());
        assert!(check_country("DE").is_ok());
        assert!(check_state("US", "CA").is_ok());
        assert!(check_state("CA", "ON").is_ok());
        assert!(check_state("AU", "NSW").is_ok());
    }

    #[test]
    fn three_letter_and_full_country_names_suggest_the_code() {
        let reason = check_country("USA").unwrap_err();
        assert_eq!(reason.code, ReasonCode::InvalidCountryCode);
        assert_eq!(reason.field, "country");
        assert!(reason.message.contains("\"USA\""), "{}", reason.message);
        assert!(reason.message.contains("use \"US\""), "{}", reason.message);

        assert!(check_country("Germany")
            .unwrap_err()
            .message
            .contains("use \"DE\""));
        assert!(check_country("United States")
            .unwrap_err()
            .message
            .contains("use \"US\""));
        assert!(check_country("us")
            .unwrap_err()
            .message
            .contains("use \"US\""));
        assert!(check_country("CAN")
            .unwrap_err()
            .message
            .contains("use \"CA\""));
    }

    #[test]
    fn unknown_countries_get_a_generic_hint() {
        let reason = check_country("Atlantis").unwrap_err();
        assert!(
            reason.message.contains("two-letter code"),
            "{}",
            reason.message
        );
        assert!(check_country("XX").is_err());
        assert!(check_country("").is_err());
    }

    #[test]
    fn full_state_names_suggest_the_code() {
        let reason = check_state("US", "California").unwrap_err();
        assert_eq!(reason.code, ReasonCode::InvalidStateCode);
        assert_eq!(reason.field, "state");
        assert!(reason.message.contains("\"California\""));
        assert!(reason.message.contains("use \"CA\""), "{}", reason.message);
        assert!(check_state("US", "new york")
            .unwrap_err()
            .message
            .contains("use \"NY\""));
        assert!(check_state("US", "US-TX")
            .unwrap_err()
            .message
            .contains("use \"TX\""));
        assert!(check_state("CA", "Ontario")
            .unwrap_err()
            .message
            .contains("use \"ON\""));
    }

    #[test]
    fn a_state_of_another_country_is_rejected() {
        assert!(check_state("US", "ON").is_err());
        assert!(check_state("US", "ZZ")
            .unwrap_err()
            .message
            .contains("such as"));
    }
}
