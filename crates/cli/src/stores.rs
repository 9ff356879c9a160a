//! Loading the stores file and connecting to one store.

use std::path::Path;

use anyhow::{anyhow, Context};
use orderport::layer::{connect_layered as connect_with_layers, Layer};
use orderport::{ConfigError, HttpClient, SellingChannel, StoreConfig, StoresFile};

use crate::exit::Failure;

/// Loads the stores file at `path`. A file with no `[[store]]` table is a usage error: every
/// command that reads it needs a store, and doing nothing in silence would hide the mistake.
pub fn load(path: &Path) -> Result<StoresFile, Failure> {
    let file = StoresFile::load(path)
        .with_context(|| format!("loading {}", path.display()))
        .map_err(Failure::usage)?;
    if file.stores.is_empty() {
        return Err(Failure::usage(anyhow!(
            "{} has no [[store]] table; add one (docs/cli.md shows one), or pass the right --config",
            path.display()
        )));
    }
    Ok(file)
}

/// Checks that every id of `ids` is a store of `file` (loaded from `path`); an unknown one is
/// a usage error naming it and listing the known ids.
pub fn check_selected(file: &StoresFile, path: &Path, ids: &[String]) -> Result<(), Failure> {
    let unknown: Vec<&str> = ids
        .iter()
        .filter(|id| !file.stores.iter().any(|s| &s.id == *id))
        .map(String::as_str)
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    let known: Vec<&str> = file.stores.iter().map(|s| s.id.as_str()).collect();
    Err(Failure::usage(anyhow!(
        "unknown store {} in {}; its stores are: {}",
        unknown.join(", "),
        path.display(),
        known.join(", ")
    )))
}

/// Loads `path` and returns the store with id `store` (without its `sync_*` settings), with
/// its channel connected.
pub fn open(path: &Path, store: &str) -> Result<(StoreConfig, Box<dyn SellingChannel>), Failure> {
    let file = load(path)?;
    check_selected(&file, path, &[store.to_owned()])?;
    connect(file.store(store)?)
}

/// The channel of one store of a loaded stores file, and its configuration without the sync
/// engine's `sync_*` settings (the connector refuses keys it does not know).
pub fn connect(config: &StoreConfig) -> Result<(StoreConfig, Box<dyn SellingChannel>), Failure> {
    connect_layered(config, &[])
}

/// [`connect`] through `layers` ([`orderport::layer`]), such as an observer of every request.
pub fn connect_layered(
    config: &StoreConfig,
    layers: &[&dyn Layer],
) -> Result<(StoreConfig, Box<dyn SellingChannel>), Failure> {
    let (config, _) = orderport_sync::split_sync_settings(config).map_err(Failure::usage)?;
    let client =
        HttpClient::new().map_err(|e| ConfigError::store(&config.id, "url", e.to_string()))?;
    let channel = connect_with_layers(&config, &client, layers)?;
    Ok((config, channel))
}
