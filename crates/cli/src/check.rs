//! `orderport check`: does a store's channel answer and accept the credentials?

use std::path::PathBuf;

use clap::Args;

use crate::exit::Failure;
use crate::stores;

/// Arguments of `orderport check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The stores file.
    #[arg(long)]
    config: PathBuf,
    /// The store's id in the stores file.
    #[arg(long)]
    store: String,
}

/// Tests the connection and says so.
pub async fn run(args: CheckArgs, json: bool) -> Result<(), Failure> {
    let (config, channel) = stores::open(&args.config, &args.store)?;
    let result = channel.check_connection().await;
    let channel_name = channel.spec().name;
    if json {
        let report = serde_json::json!({
            "store": config.id, "channel": channel.spec().id, "ok": result.is_ok(),
            "error": result.as_ref().err().map(ToString::to_string),
        });
        println!("{report}");
    } else if result.is_ok() {
        println!("store {} ({channel_name}): connection OK", config.id);
    }
    result.map_err(Failure::from)
}
