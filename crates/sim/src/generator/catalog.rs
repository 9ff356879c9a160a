//! The fixed lists orders are drawn from: people, places, products and free text. Every e-mail
//! domain is reserved (`example.com`, RFC 2606) and every phone number is in the 555-01xx range
//! kept for fiction.

/// Given names, some with letters outside ASCII.
pub(crate) const FIRST_NAMES: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Katherine",
    "José",
    "Zoë",
    "Björn",
    "Siobhán",
    "Mei",
    "Ravi",
    "Amara",
    "Luis",
    "Noor",
    "Owen",
    "Priya",
    "Tomás",
    "Hana",
    "Emeka",
    "Chloé",
    "Darius",
];

/// Family names, some with apostrophes and letters outside ASCII.
pub(crate) const LAST_NAMES: &[&str] = &[
    "Fixture",
    "O'Brien",
    "Müller",
    "García",
    "Nakamura",
    "Okafor",
    "Lindqvist",
    "Dubois",
    "Kowalski",
    "Singh",
    "Haddad",
    "Moreau",
    "Ng",
    "Reyes",
    "Schmidt",
    "Abernathy",
];

/// Company names for business buyers.
pub(crate) const COMPANIES: &[&str] = &[
    "Fixture Outfitters",
    "Acme & Sons",
    "Blue Heron Cafe",
    "Northwind Traders",
    "Tailspin Toys",
];

/// Street names.
pub(crate) const STREETS: &[&str] = &[
    "Example Street",
    "Main St",
    "Oak Avenue",
    "Maple Dr",
    "Cedar Lane",
    "Harbor Blvd",
    "Sunset Road",
    "Elm Court",
    "Birch Way",
    "Lakeview Terrace",
];

/// A US city: name, state code, state name, ZIP code.
pub(crate) const US_CITIES: &[(&str, &str, &str, &str)] = &[
    ("Chicago", "IL", "Illinois", "60601"),
    ("Austin", "TX", "Texas", "78701"),
    ("Denver", "CO", "Colorado", "80202"),
    ("Seattle", "WA", "Washington", "98101"),
    ("Portland", "OR", "Oregon", "97205"),
    ("San Diego", "CA", "California", "92101"),
    ("Sacramento", "CA", "California", "95814"),
    ("Phoenix", "AZ", "Arizona", "85004"),
    ("Miami", "FL", "Florida", "33130"),
    ("Atlanta", "GA", "Georgia", "30303"),
    ("Boston", "MA", "Massachusetts", "02108"),
    ("New York", "NY", "New York", "10001"),
    ("Brooklyn", "NY", "New York", "11201"),
    ("Philadelphia", "PA", "Pennsylvania", "19103"),
    ("Columbus", "OH", "Ohio", "43215"),
    ("Nashville", "TN", "Tennessee", "37203"),
    ("Minneapolis", "MN", "Minnesota", "55401"),
    ("Salt Lake City", "UT", "Utah", "84101"),
    ("Honolulu", "HI", "Hawaii", "96813"),
    ("Anchorage", "AK", "Alaska", "99501"),
];

/// A Canadian city: name, province code, province name, postal code.
pub(crate) const CA_CITIES: &[(&str, &str, &str, &str)] = &[
    ("Toronto", "ON", "Ontario", "M5V 2T6"),
    ("Vancouver", "BC", "British Columbia", "V6B 1A1"),
    ("Montréal", "QC", "Quebec", "H2Y 1C6"),
];

/// A British city (no state is written): name, postcode.
pub(crate) const GB_CITIES: &[(&str, &str)] = &[("London", "SW1A 1AA"), ("Manchester", "M1 1AE")];

/// A product: SKU, name, unit price in cents, weight in ounces.
pub(crate) type Product = (&'static str, &'static str, i64, u32);

/// What a Spark Shipping storefront sells.
pub(crate) const SPARK_PRODUCTS: &[Product] = &[
    ("SPK-MUG", "Spark mug", 875, 12),
    ("SPK-TEE", "Spark tee", 2000, 6),
    ("SPK-HOODIE", "Spark hoodie", 4500, 18),
    ("SPK-CAP", "Spark cap", 1800, 4),
    ("SPK-STICKERS", "Sticker pack (10)", 600, 1),
    ("SPK-BOTTLE", "Insulated bottle, 20 oz", 2450, 14),
    ("SPK-POSTER", "Poster 18\" × 24\"", 1500, 8),
];

/// What a Listing Mirror seller lists on marketplaces.
pub(crate) const MARKETPLACE_PRODUCTS: &[Product] = &[
    ("LM-B07XJ8C8F5", "Wireless earbuds – black", 2999, 5),
    ("LM-B08N5WRWNW", "USB-C cable 6 ft, 2-pack", 1299, 3),
    ("LM-B09G9FPHY6", "Phone stand, aluminium", 1599, 7),
    ("LM-B07PGL2ZSL", "Laptop sleeve 13\"", 2199, 11),
    ("LM-B0C1234567", "LED desk lamp & charger", 3999, 32),
    ("LM-B0D7654321", "Yoga mat <6 mm>", 2499, 40),
];

/// What an Order Time distributor ships.
pub(crate) const DISTRIBUTOR_PRODUCTS: &[Product] = &[
    ("WIDGET-BLUE", "Blue widget", 1250, 10),
    ("GADGET-RED", "Red gadget", 750, 6),
    ("BRACKET-L", "L-bracket, zinc", 325, 4),
    ("VALVE-075", "Ball valve 3/4\"", 1895, 22),
    ("GASKET-KIT", "Gasket kit & seals", 999, 3),
    ("PUMP-HD", "Heavy-duty pump", 18900, 240),
];

/// Item options: name and the values it takes.
pub(crate) const OPTIONS: &[(&str, &[&str])] = &[
    ("Size", &["S", "M", "L", "XL"]),
    ("Color", &["Blue", "Black", "Heather Grey"]),
];

/// Order Time item options: the SKUs that have one, its name and the values it takes.
pub(crate) const DISTRIBUTOR_OPTIONS: &[(&[&str], &str, &[&str])] = &[
    (
        &["WIDGET-BLUE", "GADGET-RED"],
        "Finish",
        &["Matte", "Gloss"],
    ),
    (&["VALVE-075"], "Connection", &["3/4\" NPT", "3/4\" Sweat"]),
    (&["PUMP-HD"], "Voltage", &["115 V", "230 V"]),
];

/// Notes buyers leave, some with characters that need escaping or CDATA splitting.
pub(crate) const CUSTOMER_NOTES: &[&str] = &[
    "Please leave it at the back door",
    "Ring the bell & wait, the dog is friendly",
    "Fragile <glass> inside!",
    "Gift for my mum — no prices on the slip, please",
    "Deliver after 5 pm; code is 1234#",
    "Text markup such as ]]> must survive CDATA",
];

/// Notes staff leave.
pub(crate) const INTERNAL_NOTES: &[&str] = &[
    "Pack with care",
    "VIP customer: add a thank-you card",
    "Check address with buyer before shipping",
];

/// Gift messages.
pub(crate) const GIFT_MESSAGES: &[&str] = &[
    "Happy birthday! 🎂",
    "Congratulations on the new home",
    "With love & best wishes",
];

/// Payment methods.
pub(crate) const PAYMENT_METHODS: &[&str] = &["Credit Card", "PayPal", "Apple Pay", "Gift Card"];

/// Where a Spark order came from.
pub(crate) const STOREFRONTS: &[&str] = &["Shopify", "BigCommerce", "WooCommerce"];

/// Where a Listing Mirror order came from.
pub(crate) const MARKETPLACES: &[&str] = &["Amazon", "eBay", "Walmart", "Etsy"];

/// Order Time payment terms.
pub(crate) const TERMS: &[&str] = &["Net 30", "Net 15", "Due on receipt", "Prepaid"];

/// Order Time locations.
pub(crate) const WAREHOUSES: &[&str] = &["Main Warehouse", "East Annex"];
