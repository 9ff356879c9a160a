//! How an order's canonical JSON is stored by every backend: a format byte, then the JSON
//! compressed with zstd and a preset dictionary of sample orders, about a fifth of its size.
//! Stored once per order (events refer to it), this keeps the state near 1 KB per order.

use crate::error::StateError;
use crate::state::PageCommit;

/// Sample orders whose content zstd uses as a preset dictionary: an order's keys and common
/// values then cost a few bytes each. Never change it: stored orders of format
/// [`PACKED_V1`] need exactly these bytes to be read (a new dictionary is a new format byte).
const ORDER_DICTIONARY_V1: &[u8] = include_bytes!("order_dictionary.json");

/// The format byte of an order compressed with zstd and [`ORDER_DICTIONARY_V1`].
const PACKED_V1: u8 = 1;

/// zstd's level: fast, and a small order gains little from more.
const PACK_LEVEL: i32 = 3;

/// The largest order JSON read back (a guard against a corrupt size in a frame header).
const MAX_ORDER_BYTES: usize = 64 << 20;

thread_local! {
    static PACKER: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    static UNPACKER: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

fn zstd_error(store: &str, what: &str, e: std::io::Error) -> StateError {
    StateError::Corrupt {
        store: store.to_owned(),
        detail: format!("{what}: {e}"),
    }
}

/// A page's orders packed for storage ([`pack_order`]), in the page's order. Backends pack a
/// page before they take a connection or the writer, so that one store's compression never
/// holds up another store's commit.
pub(crate) fn pack_page(store: &str, page: &PageCommit) -> Result<Vec<Vec<u8>>, StateError> {
    page.orders
        .iter()
        .map(|w| pack_order(store, &w.json))
        .collect()
}

/// Checks that `packed` holds one packed order per order of `page` (as [`pack_page`] makes
/// it): a commit pairs them, and a short list would leave orders out unnoticed.
pub(crate) fn check_packed(
    store: &str,
    page: &PageCommit,
    packed: &[Vec<u8>],
) -> Result<(), StateError> {
    if packed.len() == page.orders.len() {
        Ok(())
    } else {
        Err(StateError::Backend {
            store: store.to_owned(),
            operation: "commit a page",
            detail: format!(
                "{} orders but {} packed; this is a bug in orderport, please report it",
                page.orders.len(),
                packed.len()
            ),
        })
    }
}

/// An order's canonical JSON as stored: a format byte, then the JSON compressed with zstd and
/// a preset dictionary (about a fifth of its size).
pub(crate) fn pack_order(store: &str, json: &str) -> Result<Vec<u8>, StateError> {
    PACKER.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = Some(
                zstd::bulk::Compressor::with_dictionary(PACK_LEVEL, ORDER_DICTIONARY_V1)
                    .map_err(|e| zstd_error(store, "cannot set up order compression", e))?,
            );
        }
        let Some(packer) = cell.as_mut() else {
            return Err(zstd_error(
                store,
                "order compression",
                std::io::Error::other("unset"),
            ));
        };
        let packed = packer
            .compress(json.as_bytes())
            .map_err(|e| zstd_error(store, "cannot compress an order", e))?;
        let mut out = Vec::with_capacity(packed.len() + 1);
        out.push(PACKED_V1);
        out.extend_from_slice(&packed);
        Ok(out)
    })
}

/// A stored order, packed again with its status set to `status` (its JSON always says the
/// stored status).
pub(crate) fn repack_with_status(
    store: &str,
    packed: &[u8],
    status: orderport_core::CanonicalStatus,
) -> Result<Vec<u8>, StateError> {
    let mut order = crate::codec::decode_order(store, &unpack_order(store, packed)?)?;
    order.status = status;
    let json = serde_json::to_string(&order).map_err(|e| StateError::Corrupt {
        store: store.to_owned(),
        detail: format!("a stored order cannot be written again: {e}"),
    })?;
    pack_order(store, &json)
}

/// A stored order's JSON, read back from [`pack_order`]'s bytes.
pub(crate) fn unpack_order(store: &str, bytes: &[u8]) -> Result<String, StateError> {
    let Some((&PACKED_V1, packed)) = bytes.split_first() else {
        return Err(StateError::Corrupt {
            store: store.to_owned(),
            detail: format!(
                "a stored order has format {:?}, which this orderport does not know",
                bytes.first()
            ),
        });
    };
    let size = zstd::zstd_safe::get_frame_content_size(packed)
        .ok()
        .flatten()
        .and_then(|n| usize::try_from(n).ok())
        .filter(|n| *n <= MAX_ORDER_BYTES)
        .ok_or_else(|| StateError::Corrupt {
            store: store.to_owned(),
            detail: "a stored order has no readable size".into(),
        })?;
    let json = UNPACKER.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            *cell = Some(
                zstd::bulk::Decompressor::with_dictionary(ORDER_DICTIONARY_V1)
                    .map_err(|e| zstd_error(store, "cannot set up order decompression", e))?,
            );
        }
        let Some(unpacker) = cell.as_mut() else {
            return Err(zstd_error(
                store,
                "order decompression",
                std::io::Error::other("unset"),
            ));
        };
        unpacker
            .decompress(packed, size)
            .map_err(|e| zstd_error(store, "a stored order cannot be decompressed", e))
    })?;
    String::from_utf8(json).map_err(|e| StateError::Corrupt {
        store: store.to_owned(),
        detail: format!("a stored order is not UTF-8: {e}"),
    })
}

#[cfg(test)]
mod packing {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_commit_refuses_packed_orders_that_do_not_match_its_page() {
        let page = PageCommit::default();
        assert!(check_packed("s", &page, &pack_page("s", &page).unwrap()).is_ok());
        let err = check_packed("s", &page, &[vec![1]])
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("store s: ") && err.contains("0 orders but 1 packed"),
            "{err}"
        );
    }

    #[test]
    fn orders_round_trip_and_shrink() {
        let sample = std::str::from_utf8(ORDER_DICTIONARY_V1).unwrap();
        let json = sample.lines().nth(1).unwrap().replace("Reyes", "Okafor");
        let packed = pack_order("s", &json).unwrap();
        assert_eq!(unpack_order("s", &packed).unwrap(), json);
        assert!(
            packed.len() * 3 < json.len(),
            "{} of {}",
            packed.len(),
            json.len()
        );
        assert_eq!(
            unpack_order("s", &pack_order("s", "").unwrap()).unwrap(),
            ""
        );
    }

    #[test]
    fn an_unknown_format_is_refused() {
        assert!(unpack_order("s", &[9, 1, 2]).is_err());
        assert!(unpack_order("s", &[]).is_err());
    }
}
