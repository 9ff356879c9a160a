//! An order's details — buyer, addresses, items, money, notes — drawn from its seed.

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::catalog::{self, Product};
use super::Invalid;
use crate::Flavor;

/// A postal address as the channel stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Address {
    pub name: String,
    pub company: Option<String>,
    pub address1: String,
    pub address2: Option<String>,
    pub city: String,
    /// Absent where the country writes none.
    pub state: Option<String>,
    pub postal_code: String,
    pub country: String,
    pub phone: String,
    pub email: String,
}

/// One line of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Item {
    pub line_id: String,
    pub sku: &'static str,
    pub name: &'static str,
    pub quantity: u32,
    pub unit_cents: i64,
    /// The weight and the unit it is written in (`oz` or `lbs`).
    pub weight: (String, &'static str),
    pub image_url: Option<String>,
    pub options: Vec<(&'static str, &'static str)>,
    /// The bin the item is picked from (Order Time only).
    pub location: Option<String>,
}

/// Everything about an order except its timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Details {
    /// Spark: the buyer's e-mail; Listing Mirror: the marketplace buyer id; Order Time: the
    /// customer record's name.
    pub customer_code: String,
    pub bill_to: Address,
    pub ship_to: Option<Address>,
    pub items: Vec<Item>,
    /// A coupon: code, description, amount off in cents.
    pub discount: Option<(&'static str, &'static str, i64)>,
    pub shipping_method: &'static str,
    pub payment_method: &'static str,
    pub shipping_cents: i64,
    pub tax_cents: i64,
    pub customer_notes: Option<&'static str>,
    pub internal_notes: Option<&'static str>,
    pub gift_message: Option<&'static str>,
    /// The storefront or marketplace.
    pub source: &'static str,
    /// Spark: the buyer's PO; Listing Mirror: the marketplace; Order Time: the customer PO.
    pub custom_field1: String,
    pub warehouse: &'static str,
    /// Which spelling of each status the order uses (see [`Flavor::raw_statuses`]).
    pub status_variant: usize,
    /// The customer record id (Order Time's `CustomerRef.Id`).
    pub customer_id: u32,
}

impl Details {
    /// The items' total, in cents.
    pub fn subtotal_cents(&self) -> i64 {
        self.items
            .iter()
            .map(|i| i.unit_cents * i64::from(i.quantity))
            .sum()
    }

    /// The discount, in cents (zero without one).
    pub fn discount_cents(&self) -> i64 {
        self.discount.map_or(0, |(_, _, cents)| cents)
    }

    /// What the buyer pays, in cents.
    pub fn total_cents(&self) -> i64 {
        self.subtotal_cents() - self.discount_cents() + self.shipping_cents + self.tax_cents
    }
}

/// The salt that separates the details' random stream from the timeline's.
const DETAILS_SALT: u64 = 0xD1B5_4A32_D192_ED03;

fn pick<T: Copy + Default>(rng: &mut impl Rng, from: &[T]) -> T {
    from.choose(rng).copied().unwrap_or_default()
}

/// The details of the order with `seed`.
pub(crate) fn draw(seed: u64, flavor: Flavor, invalid: Option<Invalid>) -> Details {
    let rng = &mut ChaCha8Rng::seed_from_u64(seed ^ DETAILS_SALT);
    let first = pick(rng, catalog::FIRST_NAMES);
    let last = pick(rng, catalog::LAST_NAMES);
    let name = format!("{first} {last}");
    let n: u32 = rng.random_range(1..10_000);
    let ascii_name = |s: &str| {
        s.chars()
            .filter(char::is_ascii_alphabetic)
            .collect::<String>()
            .to_ascii_lowercase()
    };
    let email = match flavor {
        // Marketplaces hide the buyer behind a relay address.
        Flavor::ListingMirror => format!("{:016x}@marketplace.example.com", rng.random::<u64>()),
        _ => format!("{}.{}{n}@example.com", ascii_name(first), ascii_name(last)),
    };
    let phone = format!(
        "{}-555-01{:02}",
        pick(rng, &[312, 512, 303, 206, 617]),
        rng.random_range(0..100)
    );
    let company = rng
        .random_bool(0.15)
        .then(|| pick(rng, catalog::COMPANIES).to_owned());
    let mut address = place(rng, &name, company, &phone, &email);
    match invalid {
        Some(Invalid::CountryName) => {
            us_place(rng, &mut address);
            address.country = match flavor {
                Flavor::OrderTime => "USA".to_owned(),
                _ => pick(rng, &["USA", "United States"]).to_owned(),
            };
        }
        Some(Invalid::StateName) => {
            let (_, _, state_name, _) = us_place(rng, &mut address);
            address.state = Some(state_name.to_owned());
        }
        _ => {}
    }
    let bill_to = if rng.random_bool(0.8) {
        address.clone()
    } else {
        place(rng, &name, None, &phone, &email)
    };
    let ship_to = (invalid != Some(Invalid::MissingShipTo)).then_some(address);
    let products = match flavor {
        Flavor::SparkShipping => catalog::SPARK_PRODUCTS,
        Flavor::ListingMirror => catalog::MARKETPLACE_PRODUCTS,
        Flavor::OrderTime => catalog::DISTRIBUTOR_PRODUCTS,
    };
    let lines = if rng.random_bool(0.6) {
        1
    } else {
        rng.random_range(2..=4)
    };
    let mut chosen: Vec<Product> = products.sample(rng, lines).copied().collect();
    chosen.truncate(lines);
    let items = chosen
        .into_iter()
        .enumerate()
        .map(|(i, product)| item(rng, flavor, seed, i, product))
        .collect::<Vec<_>>();
    let subtotal: i64 = items
        .iter()
        .map(|i| i.unit_cents * i64::from(i.quantity))
        .sum();
    let discount = (flavor != Flavor::ListingMirror && rng.random_bool(0.1)).then(|| {
        let (code, description) = pick(
            rng,
            &[
                ("SPRING10", "10% off spring sale"),
                ("WELCOME10", "10% welcome offer"),
            ],
        );
        (code, description, subtotal / 10)
    });
    let shipping_cents = pick(rng, &[0, 499, 799, 1299]);
    let tax_cents = if rng.random_bool(0.3) {
        0
    } else {
        subtotal * rng.random_range(4..9) / 100
    };
    let customer_code = match flavor {
        Flavor::SparkShipping => bill_to.email.clone(),
        Flavor::ListingMirror => format!("A{:013X}", rng.random::<u64>() >> 12),
        Flavor::OrderTime => bill_to.company.clone().unwrap_or_else(|| name.clone()),
    };
    let source = match flavor {
        Flavor::SparkShipping => pick(rng, catalog::STOREFRONTS),
        Flavor::ListingMirror => pick(rng, catalog::MARKETPLACES),
        Flavor::OrderTime => "Order Time",
    };
    let custom_field1 = match flavor {
        Flavor::ListingMirror => source.to_owned(),
        _ => format!("PO-{}", rng.random_range(10_000..100_000)),
    };
    Details {
        customer_code,
        bill_to,
        ship_to,
        items,
        discount,
        shipping_method: pick(rng, flavor.shipping_methods()),
        payment_method: match flavor {
            Flavor::OrderTime => pick(rng, catalog::TERMS),
            _ => pick(rng, catalog::PAYMENT_METHODS),
        },
        shipping_cents,
        tax_cents,
        customer_notes: rng
            .random_bool(0.2)
            .then(|| pick(rng, catalog::CUSTOMER_NOTES)),
        internal_notes: rng
            .random_bool(0.1)
            .then(|| pick(rng, catalog::INTERNAL_NOTES)),
        gift_message: rng
            .random_bool(0.05)
            .then(|| pick(rng, catalog::GIFT_MESSAGES)),
        source,
        custom_field1,
        warehouse: pick(rng, catalog::WAREHOUSES),
        status_variant: rng.random_range(0..6),
        customer_id: rng.random_range(100..10_000),
    }
}

/// An address: mostly in the US, some in Canada and Britain.
fn place(
    rng: &mut impl Rng,
    name: &str,
    company: Option<String>,
    phone: &str,
    email: &str,
) -> Address {
    let mut address = Address {
        name: name.to_owned(),
        company,
        address1: format!(
            "{} {}",
            rng.random_range(1..9_999),
            pick(rng, catalog::STREETS)
        ),
        address2: rng.random_bool(0.2).then(|| {
            format!(
                "Apt {}{}",
                rng.random_range(1..40),
                pick(rng, &['A', 'B', 'C'])
            )
        }),
        city: String::new(),
        state: None,
        postal_code: String::new(),
        country: String::new(),
        phone: phone.to_owned(),
        email: email.to_owned(),
    };
    let roll: f64 = rng.random();
    if roll < 0.85 {
        us_place(rng, &mut address);
    } else if roll < 0.95 {
        let (city, code, _, postal) = pick(rng, catalog::CA_CITIES);
        address.city = city.to_owned();
        address.state = Some(code.to_owned());
        address.postal_code = postal.to_owned();
        address.country = "CA".to_owned();
    } else {
        let (city, postal) = pick(rng, catalog::GB_CITIES);
        address.city = city.to_owned();
        address.postal_code = postal.to_owned();
        address.country = "GB".to_owned();
    }
    address
}

/// Moves `address` to a US city and returns the city's entry.
fn us_place(
    rng: &mut impl Rng,
    address: &mut Address,
) -> (&'static str, &'static str, &'static str, &'static str) {
    let entry = pick(rng, catalog::US_CITIES);
    let (city, code, _, zip) = entry;
    address.city = city.to_owned();
    address.state = Some(code.to_owned());
    address.postal_code = zip.to_owned();
    address.country = "US".to_owned();
    entry
}

fn item(rng: &mut impl Rng, flavor: Flavor, seed: u64, index: usize, product: Product) -> Item {
    let (sku, name, unit_cents, ounces) = product;
    let weight = if rng.random_bool(0.5) {
        (ounces.to_string(), "oz")
    } else {
        (format!("{:.2}", f64::from(ounces) / 16.0), "lbs")
    };
    let options = if flavor == Flavor::SparkShipping && matches!(sku, "SPK-TEE" | "SPK-HOODIE") {
        catalog::OPTIONS
            .iter()
            .map(|(option, values)| (*option, pick(rng, values)))
            .collect()
    } else if flavor == Flavor::OrderTime {
        distributor_options(sku, seed, index)
    } else {
        Vec::new()
    };
    let location = (flavor == Flavor::OrderTime).then(|| bin(seed, index));
    Item {
        line_id: format!("L{:x}-{}", seed & 0xFFFF_FFFF, index + 1),
        sku,
        name,
        quantity: if rng.random_bool(0.7) {
            1
        } else {
            rng.random_range(2..=3)
        },
        unit_cents,
        weight,
        image_url: rng.random_bool(0.5).then(|| {
            format!(
                "https://images.example.com/{}.jpg",
                sku.to_ascii_lowercase()
            )
        }),
        options,
        location,
    }
}

/// The options of a distributor item, chosen from the order's seed without drawing from its
/// random stream (so that adding them changed no other detail of an Order Time order).
fn distributor_options(sku: &str, seed: u64, index: usize) -> Vec<(&'static str, &'static str)> {
    let choice = |values: &[&'static str], salt: u64| {
        let n = (seed.rotate_left(8 * (index as u32 % 8)) ^ salt) as usize;
        values[n % values.len()]
    };
    catalog::DISTRIBUTOR_OPTIONS
        .iter()
        .filter(|(skus, _, _)| skus.contains(&sku))
        .enumerate()
        .map(|(i, (_, option, values))| (*option, choice(values, i as u64 * 7919)))
        .collect()
}

/// The warehouse bin of an Order Time item, such as `A-03-2`, from the order's seed.
fn bin(seed: u64, index: usize) -> String {
    let n = seed.rotate_right(16 + 5 * index as u32);
    format!(
        "{}-{:02}-{}",
        ["A", "B", "C", "D"][(n % 4) as usize],
        (n >> 2) % 20 + 1,
        (n >> 7) % 4 + 1
    )
}
