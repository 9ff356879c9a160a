//! How an order's canonical JSON is stored by every backend: a format byte, then the JSON
//! compressed with zstd and a preset dictionary of sample orders, about a fifth of its size.
//! Stored once per order (events refer to it), this keeps the state near 1 KB per order.
//!
//! Orders are written in format 2 and read in formats 1 and 2:
//!
//! | format byte | dictionary |
//! |---|---|
//! | 1 | `order_dictionary.json`: three sample orders, raw content |
//! | 2 | `order_dictionary_v2.zdict`: the same content with entropy tables (`examples/order_dictionary.rs`) |
//!
//! Format 2's tables let zstd start each small order from them instead of counting its bytes
//! and building and writing Huffman and FSE tables of its own: half the CPU of packing an
//! order, and a seventh fewer bytes (docs/performance.md, "Orders packed with entropy
//! tables").

use crate::error::StateError;
use crate::state::PageCommit;

/// Sample orders whose content zstd uses as a preset dictionary: an order's keys and common
/// values then cost a few bytes each. Never change it: stored orders of format
/// [`PACKED_V1`] need exactly these bytes to be read (a new dictionary is a new format byte).
const ORDER_DICTIONARY_V1: &[u8] = include_bytes!("order_dictionary.json");

/// Format 1's content with the entropy tables that `ZDICT_finalizeDictionary` computed from
/// 1,708 sample orders at [`PACK_LEVEL`] (`examples/order_dictionary.rs` made it). Never
/// change it: stored orders of format [`PACKED_V2`] need exactly these bytes to be read.
const ORDER_DICTIONARY_V2: &[u8] = include_bytes!("order_dictionary_v2.zdict");

/// The format byte of an order compressed with zstd and [`ORDER_DICTIONARY_V1`] (read only).
const PACKED_V1: u8 = 1;

/// The format byte of an order compressed with zstd and [`ORDER_DICTIONARY_V2`], without the
/// dictionary's id in the frame (the format byte names the dictionary): what is written.
const PACKED_V2: u8 = 2;

/// zstd's level: fast, and a small order gains little from more.
const PACK_LEVEL: i32 = 3;

/// The largest order JSON read back (a guard against a corrupt size in a frame header).
const MAX_ORDER_BYTES: usize = 64 << 20;

/// The formats read, each with its dictionary: the index of a format's decompressor in
/// [`UNPACKERS`].
const READ_FORMATS: [(u8, &[u8]); 2] = [
    (PACKED_V1, ORDER_DICTIONARY_V1),
    (PACKED_V2, ORDER_DICTIONARY_V2),
];

thread_local! {
    static PACKER: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    static UNPACKERS: std::cell::RefCell<[Option<zstd::bulk::Decompressor<'static>>; 2]> =
        const { std::cell::RefCell::new([None, None]) };
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

/// An order's canonical JSON as stored: format byte [`PACKED_V2`], then the JSON compressed
/// with zstd and [`ORDER_DICTIONARY_V2`] (about a fifth of its size).
pub(crate) fn pack_order(store: &str, json: &str) -> Result<Vec<u8>, StateError> {
    PACKER.with(|cell| {
        let mut cell = cell.borrow_mut();
        if cell.is_none() {
            let mut packer =
                zstd::bulk::Compressor::with_dictionary(PACK_LEVEL, ORDER_DICTIONARY_V2)
                    .map_err(|e| zstd_error(store, "cannot set up order compression", e))?;
            packer
                .set_parameter(zstd::stream::raw::CParameter::DictIdFlag(false))
                .map_err(|e| zstd_error(store, "cannot set up order compression", e))?;
            *cell = Some(packer);
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
        out.push(PACKED_V2);
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
    let known = bytes.split_first().and_then(|(format, packed)| {
        READ_FORMATS
            .iter()
            .position(|(f, _)| f == format)
            .map(|i| (i, packed))
    });
    let Some((format, packed)) = known else {
        return Err(StateError::Corrupt {
            store: store.to_owned(),
            detail: format!(
                "a stored order has format {:?}, which this orderport does not know; \
                 a newer orderport wrote it, so read this state with that version",
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
    let json = UNPACKERS.with(|cell| {
        let mut cell = cell.borrow_mut();
        let (slot, dictionary) = cell
            .get_mut(format)
            .zip(READ_FORMATS.get(format).map(|(_, d)| *d))
            .ok_or_else(|| {
                zstd_error(
                    store,
                    "order decompression",
                    std::io::Error::other("no decompressor for a known format"),
                )
            })?;
        if slot.is_none() {
            *slot = Some(
                zstd::bulk::Decompressor::with_dictionary(dictionary)
                    .map_err(|e| zstd_error(store, "cannot set up order decompression", e))?,
            );
        }
        let Some(unpacker) = slot.as_mut() else {
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

/// An order packed as orderport wrote format 1 (up to SQLite schema 6 and PostgreSQL schema
/// 5): for tests of states written by an earlier orderport.
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) fn pack_format_1(json: &str) -> Vec<u8> {
    let mut packer =
        zstd::bulk::Compressor::with_dictionary(PACK_LEVEL, ORDER_DICTIONARY_V1).unwrap();
    let mut packed = vec![PACKED_V1];
    packed.extend(packer.compress(json.as_bytes()).unwrap());
    packed
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

    /// Format 1's dictionary's sample orders, each with its values changed (its keys kept).
    fn other_orders() -> Vec<String> {
        std::str::from_utf8(ORDER_DICTIONARY_V1)
            .unwrap()
            .lines()
            .map(|order| {
                order
                    .replace("Reyes", "Okafor")
                    .replace("2026-09-01", "2027-03-14")
                    .replace("example.com", "mail.test")
                    .replace('1', "7")
            })
            .collect()
    }

    #[test]
    fn orders_are_written_in_format_2_without_the_dictionary_id() {
        for json in other_orders() {
            let packed = pack_order("s", &json).unwrap();
            assert_eq!(packed[0], PACKED_V2);
            assert_eq!(zstd::zstd_safe::get_dict_id_from_frame(&packed[1..]), None);
            assert_eq!(unpack_order("s", &packed).unwrap(), json);
        }
    }

    #[test]
    fn format_1_orders_are_still_read_and_the_format_byte_names_the_dictionary() {
        for json in other_orders() {
            let v1 = pack_format_1(&json);
            assert_eq!(unpack_order("s", &v1).unwrap(), json);
            // Format 2's frames start from its dictionary's tables: read with format 1's
            // dictionary (no tables) they are refused, so each format must use its own.
            let mut v2 = pack_order("s", &json).unwrap();
            v2[0] = PACKED_V1;
            assert!(unpack_order("s", &v2).is_err_and(|e| e
                .to_string()
                .contains("a stored order cannot be decompressed")));
        }
    }

    #[test]
    fn format_2_is_format_1s_content_with_entropy_tables_and_packs_smaller() {
        assert!(ORDER_DICTIONARY_V2.ends_with(ORDER_DICTIONARY_V1));
        // A zstd dictionary with tables: its magic number, then its id.
        assert_eq!(ORDER_DICTIONARY_V2[..4], 0xEC30_A437_u32.to_le_bytes());
        assert_eq!(
            zstd::zstd_safe::get_dict_id_from_dict(ORDER_DICTIONARY_V2).map(|id| id.get()),
            Some(0x6f70_0002)
        );
        let (v1, v2) = other_orders().iter().fold((0, 0), |(v1, v2), json| {
            (
                v1 + pack_format_1(json).len(),
                v2 + pack_order("s", json).unwrap().len(),
            )
        });
        assert!(v2 < v1, "format 2 {v2} bytes, format 1 {v1}");
    }

    #[test]
    fn an_unknown_format_is_refused() {
        assert!(unpack_order("s", &[9, 1, 2]).is_err());
        assert!(unpack_order("s", &[]).is_err());
    }
}
