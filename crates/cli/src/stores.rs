//! Loading the stores file and connecting to one store.

use std::path::Path;

use anyhow::Context;
use orderport::{SellingChannel, StoreConfig, StoresFile};

use crate::exit::Failure;

/// Loads `path` and returns the store with id `store`, with its channel connected.
pub fn open(path: &Path, store: &str) -> Result<(StoreConfig, Box<dyn SellingChannel>), Failure> {
    let file = StoresFile::load(path)
        .with_context(|| format!("loading {}", path.display()))
        .map_err(Failure::usage)?;
    let config = file.store(store)?.clone();
    let channel = orderport::connect(&config)?;
    Ok((config, channel))
}
