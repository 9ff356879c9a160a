//! `orderport push-shipment`: one shipment update sent to a store's channel.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::{anyhow, Context};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use orderport::{OrderRef, ShipmentKind, ShipmentScope, ShipmentUpdate, ShippedItem};
use rust_decimal::Decimal;

use orderport_sync::{shown_db, StateStore, SyncEngine};

use crate::exit::{Failure, CHANNEL_FAILED};
use crate::shutdown::Shutdown;
use crate::stores;

/// Arguments of `orderport push-shipment`.
#[derive(Debug, Args)]
pub struct PushShipmentArgs {
    /// The stores file.
    #[arg(long, env = "ORDERPORT_CONFIG")]
    config: PathBuf,
    /// The store's id in the stores file.
    #[arg(long)]
    store: String,
    /// The order number.
    #[arg(long)]
    order_number: String,
    /// The channel's own id for the order, where it differs from the number.
    #[arg(long)]
    order_id: Option<String>,
    /// The carrier code, such as USPS, UPS or FedEx.
    #[arg(long)]
    carrier: String,
    /// The carrier's service, such as "Priority Mail".
    #[arg(long)]
    service: String,
    /// The tracking number.
    #[arg(long)]
    tracking_number: String,
    /// The day it shipped (YYYY-MM-DD); today in the store's zone by default.
    #[arg(long)]
    ship_date: Option<NaiveDate>,
    /// When the label was created (RFC 3339); now by default.
    #[arg(long)]
    label_created_at: Option<DateTime<Utc>>,
    /// What the label cost.
    #[arg(long)]
    shipping_cost: Option<Decimal>,
    /// Notes for the buyer.
    #[arg(long)]
    notes_to_buyer: Option<String>,
    /// Ask the channel to notify the buyer.
    #[arg(long)]
    notify_customer: bool,
    /// An item shipped, as SKU:QTY; repeat for several.
    #[arg(long = "item", value_name = "SKU:QTY")]
    items: Vec<ItemArg>,
    /// Only the listed items shipped (a split or partial shipment).
    #[arg(long)]
    partial: bool,
    /// Record the shipment in this state database (the one `orderport sync` uses). A label
    /// ships the stored order at once (one "shipped" event, sent as "Order Shipped"); the
    /// resulting events are delivered to the configured sinks at once.
    /// A SQLite file or a PostgreSQL URL.
    #[arg(long, env = "ORDERPORT_DB", hide_env_values = true)]
    db: Option<String>,
    /// The order was only marked shipped, no label was created: no "Order Shipped" is sent.
    #[arg(long)]
    marked_only: bool,
}

/// `SKU:QTY` from the command line.
#[derive(Debug, Clone)]
pub struct ItemArg(ShippedItem);

impl FromStr for ItemArg {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (sku, quantity) = s
            .rsplit_once(':')
            .ok_or_else(|| anyhow!("{s:?} is not SKU:QTY"))?;
        let quantity: u32 = quantity
            .parse()
            .map_err(|_| anyhow!("{s:?}: the quantity {quantity:?} is not a whole number"))?;
        if sku.is_empty() || quantity == 0 {
            return Err(anyhow!("{s:?}: give a SKU and a quantity of at least 1"));
        }
        Ok(Self(ShippedItem {
            line_id: None,
            sku: sku.to_owned(),
            name: None,
            quantity,
        }))
    }
}

/// Sends the shipment.
pub async fn run(args: PushShipmentArgs, json: bool) -> Result<(), Failure> {
    // A signal cuts the delivery after the push short (within the grace period); the events
    // stay pending for the next `orderport sync`.
    let shutdown = Shutdown::listen();
    let (config, channel) = stores::open(&args.config, &args.store)?;
    let now = Utc::now();
    let items: Vec<ShippedItem> = args.items.into_iter().map(|i| i.0).collect();
    let update = ShipmentUpdate {
        order: OrderRef {
            external_id: args.order_id,
            order_number: args.order_number,
        },
        carrier: args.carrier,
        service: Some(args.service),
        tracking_number: args.tracking_number,
        ship_date: args
            .ship_date
            .unwrap_or_else(|| config.timezone.to_wall(now).date()),
        label_created_at: Some(args.label_created_at.unwrap_or(now)),
        shipping_cost: args.shipping_cost,
        notes_to_buyer: args.notes_to_buyer,
        notify_customer: args.notify_customer,
        scope: if args.partial {
            ShipmentScope::Partial(items)
        } else {
            ShipmentScope::Complete(items)
        },
        kind: if args.marked_only {
            ShipmentKind::MarkedShipped
        } else {
            ShipmentKind::Label
        },
    };
    update.validate().map_err(Failure::usage)?;
    // Open the state and build the sinks before pushing, so a bad --db or [[sink]] fails
    // before the channel is changed.
    let recorder = match &args.db {
        None => None,
        Some(db) => {
            let file = orderport::StoresFile::load(&args.config)
                .with_context(|| format!("loading {}", args.config.display()))
                .map_err(Failure::usage)?;
            let sinks = crate::sinks::build(&file)?;
            let state = StateStore::open(db)
                .await
                .with_context(|| format!("opening the state database {}", shown_db(db)))
                .map_err(Failure::usage)?;
            let engine = SyncEngine::new(state.shared());
            // A label that does not fit the stored order (an item it lacks, more units than
            // remain without a label) is refused before the channel is changed.
            engine
                .check_shipment(&config.id, &update)
                .await
                .map_err(Failure::usage)?;
            Some((engine, sinks))
        }
    };
    channel.push_shipment(&update).await?;
    let mut recorded = serde_json::Value::Null;
    let mut undelivered = crate::sinks::Undelivered::default();
    if let Some((engine, sinks)) = &recorder {
        let outcome = engine
            .record_shipment(&config.id, &update)
            .await
            .map_err(|e| Failure {
                code: CHANNEL_FAILED,
                error: anyhow::Error::new(e).context(
                    "the shipment was sent to the channel but could not be recorded in the state database",
                ),
            })?;
        recorded = serde_json::json!({
            "event_id": outcome.event,
            "fulfilment": outcome.fulfilment,
        });
        if !json {
            let number = &update.order.order_number;
            let covered = outcome.fulfilment.as_ref().map(|f| {
                let (labelled, ordered) = f.units();
                format!(
                    "; labels cover {labelled} of {ordered} units in {} labels",
                    f.labels()
                )
            });
            let covered = covered.unwrap_or_default();
            match outcome.event {
                Some(id) => println!("recorded: order {number} is shipped (event {id}){covered}"),
                None if args.marked_only => {
                    println!("recorded: marked-only shipment of order {number}")
                }
                None => println!("recorded: label of order {number}{covered}"),
            }
        }
        undelivered =
            crate::sinks::deliver(engine, sinks, Some(&config.id), json, shutdown.deliveries())
                .await;
    }
    if json {
        let report = serde_json::json!({
            "store": config.id, "sent": true, "shipment": update, "recorded": recorded,
        });
        println!("{report}");
    } else {
        tracing::info!(
            store = %config.id,
            order = %update.order.order_number,
            tracking = %update.tracking_number,
            "shipment sent"
        );
    }
    if !undelivered.is_none() {
        return Err(Failure {
            code: CHANNEL_FAILED,
            error: anyhow!(undelivered.describe()),
        });
    }
    Ok(())
}
