//! The Custom Store transport: the ShipStation Custom Store v1 endpoint Order Time hosts, spoken
//! through `orderport-custom-store` (export paging, the streaming XML reader, shipnotify, the
//! DST-safe export window); nothing of the protocol is repeated here.
//!
//! What this module adds is Order Time's side of the connection (channel-apis.md §1.1):
//!
//! - the endpoint is `{url}/shipstation` (documented as `https://services.ordertime.com/api/shipstation`),
//!   or `custom_store_url` where a tenant's differs;
//! - the user name is the store's `username` (the master admin's e-mail) and the password is its
//!   `api_key`, sent as HTTP Basic and as `SS-UserName`/`SS-Password`, as ShipStation sends them;
//! - an order whose export carries no order weight gets the sum of its items' weights
//!   ([`crate::weight`]).
//!
//! The store's configuration is handed to [`CustomStoreChannel`] re-shaped: `url` set to the
//! endpoint, the API key as the password, and only the Custom Store crate's settings.

use async_trait::async_trait;
use orderport_core::secrecy::ExposeSecret;
use orderport_core::{
    ChannelError, ChannelSpec, ConfigError, FetchOutcome, Page, PageToken, Secrets, SellingChannel,
    ShipmentUpdate, StoreConfig, StoreProfile, TimeWindow,
};
use orderport_custom_store::CustomStoreChannel;
use orderport_http::{endpoint, HttpClient};
use url::Url;

use crate::weight;

/// The path of the Custom Store endpoint under the API base.
pub const ENDPOINT_SEGMENT: &str = "shipstation";

/// An Order Time tenant reached through its Custom Store endpoint.
#[derive(Debug, Clone)]
pub struct CustomStoreTransport {
    channel: CustomStoreChannel,
}

impl CustomStoreTransport {
    /// The transport for a store already known to use it ([`crate::Transport::for_store`]).
    pub fn new(
        spec: &'static ChannelSpec,
        config: &StoreConfig,
        client: HttpClient,
    ) -> Result<Self, ConfigError> {
        let channel = CustomStoreChannel::with_client(spec, &as_custom_store(config)?, client)?;
        Ok(Self { channel })
    }
}

/// The store's configuration as the Custom Store crate reads it: the endpoint as `url`, the
/// e-mail as the user name, the API key as the password, and the Custom Store settings alone
/// (the transport has refused every other key already).
pub fn as_custom_store(config: &StoreConfig) -> Result<StoreConfig, ConfigError> {
    let endpoint = endpoint_url(config)?;
    let username = config
        .required_username(
            "set username to the Order Time master admin's user name (an e-mail), as typed into ShipStation's Order Time tile",
        )?
        .to_owned();
    let api_key = config
        .secrets
        .api_key
        .as_ref()
        .filter(|key| !key.expose_secret().trim().is_empty())
        .cloned()
        .ok_or_else(|| {
            ConfigError::store(
                &config.id,
                "api_key",
                "set api_key (or api_key_env) to the key Order Time generated when the master admin enabled the ShipStation integration (Admin > Shipping Integration)",
            )
        })?;
    let mut shaped = config.clone();
    shaped.url = endpoint.to_string();
    shaped.username = Some(username);
    shaped.secrets = Secrets {
        password: Some(api_key),
        ..Secrets::default()
    };
    shaped.settings = config
        .settings
        .iter()
        .filter(|(key, _)| orderport_custom_store::SETTINGS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    Ok(shaped)
}

/// `custom_store_url`, else `{url}/shipstation`; both checked like every endpoint (https, or
/// http to loopback or with `allow_insecure_http`).
fn endpoint_url(config: &StoreConfig) -> Result<Url, ConfigError> {
    let parse = |field: &str, text: &str| {
        endpoint::parse(text.trim(), config.allow_insecure_http)
            .map_err(|e| ConfigError::store(&config.id, field, e.to_string()))
    };
    let base = parse("url", config.url.trim().trim_end_matches('/'))?;
    match config.setting_str("custom_store_url")? {
        Some(text) if text.trim().is_empty() => Err(ConfigError::store(
            &config.id,
            "custom_store_url",
            "must not be empty; remove the setting to use {url}/shipstation",
        )),
        Some(text) => parse("custom_store_url", text),
        None => endpoint::join(&base, ENDPOINT_SEGMENT).ok_or_else(|| {
            ConfigError::store(
                &config.id,
                "url",
                "the API base cannot hold a path; set url to https://services.ordertime.com/api",
            )
        }),
    }
}

#[async_trait]
impl SellingChannel for CustomStoreTransport {
    fn spec(&self) -> &'static ChannelSpec {
        self.channel.spec()
    }

    fn store(&self) -> &StoreProfile {
        self.channel.store()
    }

    /// Exports the last minute (the Custom Store crate's check).
    async fn check_connection(&self) -> Result<(), ChannelError> {
        self.channel.check_connection().await
    }

    /// One export page; an accepted order without an order weight gets its items' total.
    async fn fetch_page(
        &self,
        window: &TimeWindow,
        page: Option<&PageToken>,
    ) -> Result<Page, ChannelError> {
        let mut page = self.channel.fetch_page(window, page).await?;
        for outcome in &mut page.outcomes {
            if let FetchOutcome::Accepted(order) = outcome {
                if order.total_weight.is_none() {
                    order.total_weight = weight::total_of_items(&order.items);
                }
            }
        }
        Ok(page)
    }

    /// Custom Store `shipnotify` (partial shipments refused before sending; see `SPEC`).
    async fn push_shipment(&self, update: &ShipmentUpdate) -> Result<(), ChannelError> {
        self.channel.push_shipment(update).await
    }
}

#[cfg(test)]
mod tests {
    use orderport_core::secrecy::SecretString;
    use orderport_core::StoresFile;

    use super::*;

    fn config(lines: &str) -> StoreConfig {
        let text = format!(
            "[[store]]\nid = \"ot\"\nname = \"OT\"\nchannel = \"order-time\"\n\
             url = \"https://services.ordertime.com/api/\"\nusername = \" admin@example.com \"\n\
             api_key = \"fixture-key\"\n{lines}\n"
        );
        StoresFile::parse(&text, &|_| None)
            .unwrap()
            .stores
            .remove(0)
    }

    #[test]
    fn the_endpoint_is_the_api_base_with_shipstation() {
        let shaped = as_custom_store(&config("")).unwrap();
        assert_eq!(shaped.url, "https://services.ordertime.com/api/shipstation");
        assert_eq!(shaped.username.as_deref(), Some("admin@example.com"));
        let password = shaped.secrets.password.as_ref().unwrap();
        assert_eq!(password.expose_secret(), "fixture-key");
        assert!(shaped.secrets.api_key.is_none() && shaped.secrets.dev_key.is_none());
    }

    #[test]
    fn a_tenant_endpoint_can_be_configured() {
        let shaped = as_custom_store(&config(
            "custom_store_url = \"https://ot.example.com/ss/endpoint\"\nretry_max_attempts = 2\nmax_orders_per_page = 40",
        ))
        .unwrap();
        assert_eq!(shaped.url, "https://ot.example.com/ss/endpoint");
        // Only the Custom Store crate's own settings are passed on.
        let keys: Vec<&String> = shaped.settings.keys().collect();
        assert_eq!(keys, ["max_orders_per_page", "retry_max_attempts"]);
        let err = as_custom_store(&config("custom_store_url = \" \"")).unwrap_err();
        assert_eq!(err.field, "custom_store_url");
        let err = as_custom_store(&config("custom_store_url = \"http://ot.example.com/ss\""))
            .unwrap_err();
        assert_eq!(err.field, "custom_store_url");
        assert!(err.message.contains("allow_insecure_http"), "{err}");
    }

    #[test]
    fn the_seeds_two_credentials_are_required() {
        let mut without_key = config("");
        without_key.secrets.api_key = Some(SecretString::from(" ".to_owned()));
        let err = as_custom_store(&without_key).unwrap_err();
        assert_eq!(
            (err.store.as_deref(), err.field.as_str()),
            (Some("ot"), "api_key")
        );
        assert!(err.message.contains("Shipping Integration"), "{err}");
        let mut without_user = config("");
        without_user.username = None;
        assert_eq!(
            as_custom_store(&without_user).unwrap_err().field,
            "username"
        );
    }

    #[test]
    fn no_secret_reaches_debug_output() {
        let transport =
            CustomStoreTransport::new(&crate::SPEC, &config(""), HttpClient::new().unwrap())
                .unwrap();
        let text = format!("{transport:?}");
        assert!(!text.contains("fixture-key"), "{text}");
    }
}
