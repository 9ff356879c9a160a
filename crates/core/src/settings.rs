//! Reading connector and sink settings from TOML tables: typed getters and ranged integers, so
//! that every connector and sink checks its settings the same way and says the same thing when
//! one is wrong.
//!
//! [`StoreConfig`](crate::StoreConfig) wraps these for a store's own keys (`setting_str`,
//! `setting_u64`, `setting_ranged`, …), naming the store in the error.

/// A setting with the wrong type or out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct SettingError {
    /// The key at fault.
    pub key: String,
    /// What is wrong and what to do.
    pub message: String,
}

impl SettingError {
    /// An error on `key`.
    pub fn new(key: &str, message: impl Into<String>) -> Self {
        Self {
            key: key.to_owned(),
            message: message.into(),
        }
    }
}

/// A string setting; `None` when absent.
pub fn get_str<'a>(table: &'a toml::Table, key: &str) -> Result<Option<&'a str>, SettingError> {
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(SettingError::new(
            key,
            format!("expected a string, found {}", other.type_str()),
        )),
    }
}

/// A non-negative integer setting; `None` when absent.
pub fn get_u64(table: &toml::Table, key: &str) -> Result<Option<u64>, SettingError> {
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::Integer(i)) if *i >= 0 => Ok(Some(*i as u64)),
        Some(other) => Err(SettingError::new(
            key,
            format!("expected a non-negative integer, found {other}"),
        )),
    }
}

/// A boolean setting; `None` when absent.
pub fn get_bool(table: &toml::Table, key: &str) -> Result<Option<bool>, SettingError> {
    match table.get(key) {
        None => Ok(None),
        Some(toml::Value::Boolean(b)) => Ok(Some(*b)),
        Some(other) => Err(SettingError::new(
            key,
            format!("expected true or false, found {other}"),
        )),
    }
}

/// An integer setting in `min..=max`, `default` when absent.
pub fn ranged(
    table: &toml::Table,
    key: &str,
    min: u64,
    max: u64,
    default: u64,
) -> Result<u64, SettingError> {
    let value = get_u64(table, key)?.unwrap_or(default);
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(SettingError::new(
            key,
            format!("{value} is out of range; use {min} to {max} (default {default})"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> toml::Table {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn typed_getters_name_the_key_and_the_expected_type() {
        let t = table("a = \"x\"\nn = 5\nneg = -1\nb = true");
        assert_eq!(get_str(&t, "a"), Ok(Some("x")));
        assert_eq!(get_str(&t, "missing"), Ok(None));
        assert_eq!(get_u64(&t, "n"), Ok(Some(5)));
        assert_eq!(get_bool(&t, "b"), Ok(Some(true)));
        let err = get_u64(&t, "neg").unwrap_err();
        assert_eq!(err.key, "neg");
        assert!(err.message.contains("non-negative"));
        assert!(get_str(&t, "n").unwrap_err().message.contains("string"));
        assert!(get_bool(&t, "a")
            .unwrap_err()
            .message
            .contains("true or false"));
    }

    #[test]
    fn ranged_values_default_and_refuse_out_of_range() {
        let t = table("n = 50");
        assert_eq!(ranged(&t, "n", 1, 100, 10), Ok(50));
        assert_eq!(ranged(&t, "other", 1, 100, 10), Ok(10));
        let err = ranged(&t, "n", 1, 20, 10).unwrap_err();
        assert_eq!(err.key, "n");
        assert_eq!(err.message, "50 is out of range; use 1 to 20 (default 10)");
    }
}
