//! Loading the stores file and connecting to one store.

use std::path::Path;

use anyhow::Context;
use orderport::{SellingChannel, StoreConfig, StoresFile};

use crate::exit::Failure;

/// Loads `path` and returns the store with id `store` (without its `sync_*` settings), with
/// its channel connected.
pub fn open(path: &Path, store: &str) -> Result<(StoreConfig, Box<dyn SellingChannel>), Failure> {
    let file = StoresFile::load(path)
        .with_context(|| format!("loading {}", path.display()))
        .map_err(Failure::usage)?;
    let config = file.store(store)?.clone();
    // The sync_* settings are the engine's, not the connector's (which refuses unknown keys).
    let (config, _) = orderport_sync::split_sync_settings(&config).map_err(Failure::usage)?;
    let channel = orderport::connect(&config)?;
    Ok((config, channel))
}
