//! A host platform embedding orderport: one Spark Shipping store, the orders of the last day,
//! through the host's own HTTP client. Usage: `orderport-host-embed STORES_TOML STORE_ID`.

use chrono::{Duration, Utc};
use futures::TryStreamExt;
use orderport::{connect_with, pages, FetchOutcome, HttpClient, StoresFile, TimeWindow};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(file), Some(store)) = (args.next(), args.next()) else {
        eprintln!("usage: orderport-host-embed STORES_TOML STORE_ID");
        std::process::exit(2);
    };
    let stores = StoresFile::load(file.as_ref())?;
    // The host's client: its pool, TLS roots and proxy (built from orderport's builder, which
    // follows no redirect).
    let client = HttpClient::from_reqwest(orderport::http::client_builder().build()?);
    let channel = connect_with(stores.store(&store)?, &client)?;
    let now = Utc::now();
    let window = TimeWindow::new(now - Duration::days(1), now)?;
    let mut walk = Box::pin(pages(channel.as_ref(), window));
    while let Some(page) = walk.try_next().await? {
        for outcome in page.outcomes {
            match outcome {
                FetchOutcome::Accepted(order) => println!("{}", order.order_number),
                FetchOutcome::Rejected(rejection) => eprintln!("{rejection}"),
            }
        }
    }
    Ok(())
}
