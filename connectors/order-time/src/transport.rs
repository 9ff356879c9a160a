//! Which of Order Time's two wire protocols a store uses, and which settings belong to which.
//!
//! - **Custom Store** (the default): the ShipStation Custom Store v1 endpoint Order Time hosts at
//!   `{url}/shipstation`, HTTP Basic with the master admin's e-mail and the API key, exactly as
//!   ShipStation's Order Time tile connects (seed 004). Needs `username` and `api_key` only.
//! - **REST**: Order Time's REST API (`POST /list`, `GET /shipdoc`), which also needs the user's
//!   `password` or a `dev_key`.
//!
//! The rule: `transport = "custom_store"` or `"rest"` when set; otherwise REST when a
//! `password` or `dev_key` is configured, and the Custom Store endpoint when not. A store that
//! contradicts itself is refused when it connects, naming the store and the field:
//! `transport = "custom_store"` with a password or a developer key (which that transport would
//! never send), or a setting of the other transport (`page_size` on a Custom Store store,
//! `custom_store_url` on a REST store).

use orderport_core::secrecy::{ExposeSecret, SecretString};
use orderport_core::{ConfigError, StoreConfig};

/// Every connector-specific setting key, as written in the store's TOML table: the common ones,
/// the REST transport's and the Custom Store transport's. Any other key is refused so that a typo
/// does not pass silently.
pub const SETTINGS: &[&str] = &[
    "transport",
    "retry_max_attempts",
    "retry_base_delay_ms",
    "retry_max_delay_ms",
    "request_timeout_secs",
    "max_response_bytes",
    "page_size",
    "fetch_concurrency",
    "fetch_details",
    "ship_doc_record_type",
    "modified_property",
    "shipped_status_ref",
    "shipped_status_ref_id",
    "shipnotify_url",
    "custom_store_url",
    "max_orders_per_page",
    "default_weight_units",
];

/// The settings every transport reads: the transport itself and the HTTP layer's.
pub const COMMON_SETTINGS: &[&str] = &[
    "transport",
    "retry_max_attempts",
    "retry_base_delay_ms",
    "retry_max_delay_ms",
    "request_timeout_secs",
    "max_response_bytes",
];

/// The settings only the REST transport reads.
pub const REST_SETTINGS: &[&str] = &[
    "page_size",
    "fetch_concurrency",
    "fetch_details",
    "ship_doc_record_type",
    "modified_property",
    "shipped_status_ref",
    "shipped_status_ref_id",
    "shipnotify_url",
];

/// The settings only the Custom Store transport reads.
pub const CUSTOM_STORE_SETTINGS: &[&str] = &[
    "custom_store_url",
    "max_orders_per_page",
    "default_weight_units",
];

/// How a store reaches Order Time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// The Custom Store endpoint Order Time hosts (`{url}/shipstation`): e-mail and API key.
    CustomStore,
    /// The REST API (`{url}/list`, `{url}/shipdoc`): e-mail, API key, and password or DevKey.
    Rest,
}

impl Transport {
    /// The value of the `transport` setting that names it.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::CustomStore => "custom_store",
            Transport::Rest => "rest",
        }
    }

    /// The transport a store uses, after refusing a configuration that contradicts itself.
    pub fn for_store(config: &StoreConfig) -> Result<Self, ConfigError> {
        let login = login_field(config);
        let transport = match (config.setting_str("transport")?.map(str::trim), login) {
            (None, None) => Transport::CustomStore,
            (None, Some(_)) | (Some("rest"), _) => Transport::Rest,
            (Some("custom_store"), None) => Transport::CustomStore,
            (Some("custom_store"), Some(field)) => {
                return Err(ConfigError::store(
                    &config.id,
                    field,
                    format!(
                        "transport = \"custom_store\" signs in with username and api_key only, so \
                         {field} would never be sent; remove {field} (and {field}_env), or set \
                         transport = \"rest\" to use Order Time's REST API"
                    ),
                ))
            }
            (Some(other), _) => {
                return Err(ConfigError::store(
                    &config.id,
                    "transport",
                    format!(
                        "{other:?} is not a transport; use \"custom_store\" (the endpoint at \
                         {{url}}/shipstation, username and api_key) or \"rest\" (the REST API, \
                         which also needs password or dev_key), or remove the setting"
                    ),
                ))
            }
        };
        transport.check_settings(config, login)?;
        Ok(transport)
    }

    /// Refuses unknown settings, and the settings of the other transport.
    fn check_settings(self, config: &StoreConfig, login: Option<&str>) -> Result<(), ConfigError> {
        config.reject_unknown_settings(SETTINGS)?;
        let foreign = match self {
            Transport::CustomStore => REST_SETTINGS,
            Transport::Rest => CUSTOM_STORE_SETTINGS,
        };
        let Some(key) = config
            .settings
            .keys()
            .find(|key| foreign.contains(&key.as_str()))
        else {
            return Ok(());
        };
        let why = match (self, login) {
            (Transport::Rest, Some(field)) => format!("this store uses the REST API because {field} is set"),
            (Transport::Rest, None) => "this store sets transport = \"rest\"".to_owned(),
            (Transport::CustomStore, _) if config.settings.contains_key("transport") => {
                "this store sets transport = \"custom_store\"".to_owned()
            }
            (Transport::CustomStore, _) => {
                "this store uses the Custom Store endpoint because neither password nor dev_key is set"
                    .to_owned()
            }
        };
        let hint = match (self, key.as_str()) {
            (Transport::CustomStore, "shipnotify_url") => {
                "; the Custom Store transport sends shipnotify to custom_store_url".to_owned()
            }
            (Transport::CustomStore, _) => {
                format!("; remove {key}, or use the REST API (set password or dev_key)")
            }
            (Transport::Rest, _) => format!(
                "; remove {key}, or remove password and dev_key to use the Custom Store endpoint"
            ),
        };
        let other = match self {
            Transport::CustomStore => "the REST transport",
            Transport::Rest => "the Custom Store transport",
        };
        Err(ConfigError::store(
            &config.id,
            key.as_str(),
            format!("{key} is a setting of {other}, and {why}{hint}"),
        ))
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The field of the REST login the store configures, if any: `dev_key` first, as it is sent
/// instead of the password.
fn login_field(config: &StoreConfig) -> Option<&'static str> {
    let set = |secret: &Option<SecretString>| {
        secret
            .as_ref()
            .is_some_and(|s| !s.expose_secret().trim().is_empty())
    };
    if set(&config.secrets.dev_key) {
        Some("dev_key")
    } else if set(&config.secrets.password) {
        Some("password")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use orderport_core::StoresFile;

    use super::*;

    fn config(lines: &str) -> StoreConfig {
        let text = format!(
            "[[store]]\nid = \"ot\"\nname = \"OT\"\nchannel = \"order-time\"\n\
             url = \"https://services.ordertime.com/api\"\nusername = \"api@example.com\"\n\
             api_key = \"fixture-key\"\n{lines}\n"
        );
        StoresFile::parse(&text, &|_| None)
            .unwrap()
            .stores
            .remove(0)
    }

    fn chosen(lines: &str) -> Result<Transport, ConfigError> {
        Transport::for_store(&config(lines))
    }

    #[test]
    fn every_setting_belongs_to_exactly_one_group() {
        let mut groups: Vec<&str> =
            [COMMON_SETTINGS, REST_SETTINGS, CUSTOM_STORE_SETTINGS].concat();
        groups.sort_unstable();
        let mut all = SETTINGS.to_vec();
        all.sort_unstable();
        assert_eq!(groups, all);
        // The Custom Store transport passes the Custom Store crate's own keys through.
        for key in orderport_custom_store::SETTINGS {
            assert!(
                COMMON_SETTINGS.contains(key) || CUSTOM_STORE_SETTINGS.contains(key),
                "{key}"
            );
        }
    }

    #[test]
    fn the_seeds_two_credentials_choose_the_custom_store_endpoint() {
        assert_eq!(chosen(""), Ok(Transport::CustomStore));
        assert_eq!(
            chosen("transport = \"custom_store\""),
            Ok(Transport::CustomStore)
        );
        // An empty secret is no secret.
        assert_eq!(chosen("password = \" \""), Ok(Transport::CustomStore));
    }

    #[test]
    fn a_password_or_a_dev_key_chooses_rest() {
        assert_eq!(chosen("password = \"fixture-p\""), Ok(Transport::Rest));
        assert_eq!(chosen("dev_key = \"fixture-d\""), Ok(Transport::Rest));
        assert_eq!(
            chosen("password = \"fixture-p\"\ntransport = \"rest\""),
            Ok(Transport::Rest)
        );
        // Without a login REST is still chosen; its credentials then say what is missing.
        assert_eq!(chosen("transport = \"rest\""), Ok(Transport::Rest));
    }

    #[test]
    fn contradictions_name_the_store_and_the_field() {
        let err = chosen("transport = \"custom_store\"\npassword = \"fixture-p\"").unwrap_err();
        assert_eq!(err.store.as_deref(), Some("ot"));
        assert_eq!(err.field, "password");
        assert!(err.message.contains("transport = \"rest\""), "{err}");
        let err = chosen("transport = \"custom_store\"\ndev_key = \"fixture-d\"").unwrap_err();
        assert_eq!(err.field, "dev_key");
        let err = chosen("transport = \"soap\"").unwrap_err();
        assert_eq!(err.field, "transport");
        assert!(err.message.contains("custom_store"), "{err}");
    }

    #[test]
    fn a_setting_of_the_other_transport_is_refused_by_name() {
        let err = chosen("page_size = 50").unwrap_err();
        assert_eq!(err.field, "page_size");
        assert!(err.message.contains("REST transport"), "{err}");
        assert!(
            err.message.contains("neither password nor dev_key"),
            "{err}"
        );
        let err = chosen("shipnotify_url = \"https://x.example.com/n\"").unwrap_err();
        assert!(err.message.contains("custom_store_url"), "{err}");
        let err = chosen("password = \"fixture-p\"\ncustom_store_url = \"https://x.example.com\"")
            .unwrap_err();
        assert_eq!(err.field, "custom_store_url");
        assert!(err.message.contains("because password is set"), "{err}");
        let err = chosen("dev_key = \"fixture-d\"\ndefault_weight_units = \"oz\"").unwrap_err();
        assert!(err.message.contains("because dev_key is set"), "{err}");
        // Common settings and each transport's own are fine.
        assert!(chosen("retry_max_attempts = 2\nmax_orders_per_page = 50").is_ok());
        assert!(chosen("password = \"fixture-p\"\nretry_max_attempts = 2\npage_size = 5").is_ok());
        // Unknown keys are refused with the list of every known one.
        let err = chosen("pagesize = 5").unwrap_err();
        assert_eq!(err.field, "pagesize");
        assert!(err.message.contains("custom_store_url"), "{err}");
    }
}
