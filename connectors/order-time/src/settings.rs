//! The REST transport's settings, checked once when the store connects (the transport itself is
//! chosen by [`crate::transport`], which also refuses the Custom Store transport's settings).

use std::time::Duration;

use orderport_core::{ConfigError, StoreConfig};
use orderport_http::{endpoint, HttpSettings};
use url::Url;

use crate::credentials::Credentials;
use crate::transport::SETTINGS;

/// Order Time's documented cap on records per list query.
pub const MAX_PAGE_SIZE: u64 = 1000;
/// Ship docs per list page unless `page_size` says otherwise.
pub const DEFAULT_PAGE_SIZE: u64 = 100;
/// Concurrent `GET /shipdoc` calls unless `fetch_concurrency` says otherwise.
pub const DEFAULT_FETCH_CONCURRENCY: u64 = 4;
/// The most concurrent detail fetches a store may ask for.
pub const MAX_FETCH_CONCURRENCY: u64 = 32;
/// The record type of a ship doc in Order Time's RecordTypeEnum (observed, not documented).
pub const SHIP_DOC_RECORD_TYPE: u64 = 4;
/// The property the list filter compares with the window (observed, not documented).
pub const MODIFIED_PROPERTY: &str = "RecordInfo.ModifiedDate";
/// How long one HTTP call may take unless `request_timeout_secs` says otherwise.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// When list rows are completed with `GET /shipdoc?docNo=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchDetails {
    /// Only rows without line items, a ship-to address or a modification date (the default).
    WhenMissing,
    /// Every row, whatever the list returned.
    Always,
}

/// The status a ship doc is given after its shipment is sent, as an Order Time EntityRef.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRef {
    /// The status's Id, preferred by Order Time when writing.
    pub id: Option<u64>,
    /// The status's Name.
    pub name: Option<String>,
}

/// A REST store's resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The REST API base, without a trailing slash.
    pub base: Url,
    /// The Custom Store endpoint Order Time hosts, for `shipnotify`.
    pub shipnotify_url: Url,
    /// The API user's e-mail and secrets.
    pub credentials: Credentials,
    /// Ship docs per list page.
    pub page_size: u32,
    /// Concurrent detail fetches.
    pub fetch_concurrency: usize,
    /// When list rows are completed.
    pub fetch_details: FetchDetails,
    /// The RecordTypeEnum value listed.
    pub record_type: u64,
    /// The property the window filter compares.
    pub modified_property: String,
    /// The status to set after a shipment, if any.
    pub shipped_status: Option<StatusRef>,
    /// Timeouts, the reply size limit and retries.
    pub http: HttpSettings,
}

impl Settings {
    /// Reads and checks a store's settings.
    pub fn from_config(config: &StoreConfig) -> Result<Self, ConfigError> {
        config.reject_unknown_settings(SETTINGS)?;
        let base = base_url(config)?;
        let shipnotify_url = match config.setting_str("shipnotify_url")? {
            Some(text) => parse_url(config, "shipnotify_url", text)?,
            None => join(config, &base, "shipstation")?,
        };
        Ok(Self {
            credentials: Credentials::from_config(config)?,
            page_size: config.setting_ranged("page_size", 1, MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)?
                as u32,
            fetch_concurrency: config.setting_ranged(
                "fetch_concurrency",
                1,
                MAX_FETCH_CONCURRENCY,
                DEFAULT_FETCH_CONCURRENCY,
            )? as usize,
            fetch_details: fetch_details(config)?,
            record_type: config
                .setting_u64("ship_doc_record_type")?
                .unwrap_or(SHIP_DOC_RECORD_TYPE),
            modified_property: non_empty(config, "modified_property")?
                .unwrap_or(MODIFIED_PROPERTY)
                .to_owned(),
            shipped_status: shipped_status(config)?,
            http: HttpSettings::from_store(
                config,
                HttpSettings::default().with_request_timeout(DEFAULT_REQUEST_TIMEOUT),
            )?,
            base,
            shipnotify_url,
        })
    }
}

fn base_url(config: &StoreConfig) -> Result<Url, ConfigError> {
    let trimmed = config.url.trim().trim_end_matches('/');
    parse_url(config, "url", trimmed)
}

fn parse_url(config: &StoreConfig, field: &str, text: &str) -> Result<Url, ConfigError> {
    endpoint::parse(text, config.allow_insecure_http)
        .map_err(|e| ConfigError::store(&config.id, field, e.to_string()))
}

fn join(config: &StoreConfig, base: &Url, segment: &str) -> Result<Url, ConfigError> {
    endpoint::join(base, segment)
        .ok_or_else(|| ConfigError::store(&config.id, "url", "cannot hold a path"))
}

fn non_empty<'a>(config: &'a StoreConfig, key: &str) -> Result<Option<&'a str>, ConfigError> {
    match config.setting_str(key)? {
        Some(text) if text.trim().is_empty() => Err(ConfigError::store(
            &config.id,
            key,
            "must not be empty; remove the setting to use the default",
        )),
        other => Ok(other.map(str::trim)),
    }
}

fn fetch_details(config: &StoreConfig) -> Result<FetchDetails, ConfigError> {
    match config.setting_str("fetch_details")? {
        None | Some("when_missing") => Ok(FetchDetails::WhenMissing),
        Some("always") => Ok(FetchDetails::Always),
        Some(other) => Err(ConfigError::store(
            &config.id,
            "fetch_details",
            format!("{other:?} is not an option; use \"when_missing\" (the default) or \"always\""),
        )),
    }
}

fn shipped_status(config: &StoreConfig) -> Result<Option<StatusRef>, ConfigError> {
    let name = non_empty(config, "shipped_status_ref")?.map(str::to_owned);
    let id = config.setting_u64("shipped_status_ref_id")?;
    Ok((name.is_some() || id.is_some()).then_some(StatusRef { id, name }))
}

#[cfg(test)]
mod tests;
