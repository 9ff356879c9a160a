//! `orderport push-shipment`: one shipment update sent to a store's channel.

use std::path::PathBuf;
use std::str::FromStr;

use anyhow::anyhow;
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use orderport::{OrderRef, ShipmentKind, ShipmentScope, ShipmentUpdate, ShippedItem};
use rust_decimal::Decimal;

use crate::exit::Failure;
use crate::stores;

/// Arguments of `orderport push-shipment`.
#[derive(Debug, Args)]
pub struct PushShipmentArgs {
    /// The stores file.
    #[arg(long)]
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
        kind: ShipmentKind::Label,
    };
    update.validate().map_err(Failure::usage)?;
    channel.push_shipment(&update).await?;
    if json {
        let report = serde_json::json!({
            "store": config.id, "sent": true, "shipment": update,
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
    Ok(())
}
