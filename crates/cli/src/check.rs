//! `orderport check`: does each store's channel, and each event sink, answer and accept the
//! credentials? Nothing is written anywhere.

use std::path::PathBuf;

use anyhow::anyhow;
use clap::Args;

use crate::exit::Failure;
use crate::{sinks, stores};

/// Arguments of `orderport check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The stores file.
    #[arg(long, env = "ORDERPORT_CONFIG")]
    config: PathBuf,
    /// Check only this store (and no sink); every store and every `[[sink]]` by default.
    #[arg(long)]
    store: Option<String>,
}

/// One line of the report.
struct Checked {
    kind: &'static str,
    id: String,
    what: String,
    /// The exit code and message of a failure.
    result: Result<(), (u8, String)>,
}

/// Checks every store selected and, without `--store`, every sink; prints one line each (a
/// JSON object each with `--json`) and fails with the first failure's exit code.
pub async fn run(args: CheckArgs, json: bool) -> Result<(), Failure> {
    let file = stores::load(&args.config)?;
    let ids: Vec<String> = match &args.store {
        Some(store) => {
            stores::check_selected(&file, &args.config, std::slice::from_ref(store))?;
            vec![store.clone()]
        }
        None => file.stores.iter().map(|s| s.id.clone()).collect(),
    };
    let mut checked = Vec::new();
    for config in file.stores.iter().filter(|s| ids.contains(&s.id)) {
        // A store that cannot even be built (a bad setting) is reported on its line too.
        let (what, result) = match stores::connect(config) {
            Ok((_, channel)) => {
                let result = channel.check_connection().await.map_err(|e| {
                    let code = Failure::from(e.clone()).code;
                    (code, e.to_string())
                });
                (channel.spec().id.to_owned(), result)
            }
            Err(failure) => (
                config.channel.clone(),
                Err((failure.code, format!("{:#}", failure.error))),
            ),
        };
        checked.push(Checked {
            kind: "store",
            id: config.id.clone(),
            what,
            result,
        });
    }
    if args.store.is_none() {
        for sink in sinks::configured(&file)? {
            let result = sink.check_connection().await;
            checked.push(Checked {
                kind: "sink",
                id: sink.name().to_owned(),
                what: sink.kind().to_owned(),
                result,
            });
        }
    }
    let mut first_failure = None;
    for line in checked {
        if json {
            let what = if line.kind == "store" {
                "channel"
            } else {
                "sink_kind"
            };
            let mut report = serde_json::Map::new();
            report.insert(line.kind.into(), line.id.clone().into());
            report.insert(what.into(), line.what.clone().into());
            report.insert("ok".into(), line.result.is_ok().into());
            report.insert(
                "error".into(),
                line.result.as_ref().err().map(|(_, e)| e.clone()).into(),
            );
            println!("{}", serde_json::Value::Object(report));
        } else {
            match &line.result {
                Ok(()) => println!("{} {} ({}): connection OK", line.kind, line.id, line.what),
                Err((_, e)) => println!("{} {} ({}): FAILED: {e}", line.kind, line.id, line.what),
            }
        }
        if let Err((code, e)) = line.result {
            first_failure.get_or_insert((code, e));
        }
    }
    match first_failure {
        None => Ok(()),
        Some((code, e)) => Err(Failure {
            code,
            error: anyhow!("not every connection works (see above); the first failure: {e}"),
        }),
    }
}
