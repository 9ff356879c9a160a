//! Makes the zstd dictionary that stored orders of format 2 are packed with
//! (`src/order_dictionary_v2.zdict`): the content of format 1's dictionary
//! (`src/order_dictionary.json`, three sample orders) unchanged, with the entropy tables
//! (Huffman for literals, FSE for the sequences) that `ZDICT_finalizeDictionary` computes from
//! sample orders at the packing level.
//!
//! With those tables zstd starts every small order from them instead of counting its bytes
//! and building and writing tables of its own: docs/performance.md ("Orders packed with
//! entropy tables") measured half the packing CPU and a seventh fewer bytes.
//!
//! The committed dictionary was made from the canonical JSON of `orderport demo --seed 7
//! --days 30` (1,708 orders of the three simulated channels; a seed other than the
//! benchmarks' 42):
//!
//! ```sh
//! orderport demo --dir /tmp/samples --seed 7 --days 30
//! cargo run -p orderport-sync --example order_dictionary -- \
//!     crates/sync/src/order_dictionary_v2.zdict /tmp/samples/*.orders.jsonl
//! ```
//!
//! After `--held-out FILE…` (orders not among the samples, e.g. of `--seed 11`) it packs each
//! of those orders with format 1's dictionary and with the new one, side by side, and prints
//! the bytes and the CPU time per order of each (`cargo run --release` for the time).
//!
//! Never replace a dictionary that orders were stored with: a new one is a new format byte
//! in `src/packed.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::BufRead;

/// Format 1's dictionary, the content kept.
const CONTENT: &[u8] = include_bytes!("../src/order_dictionary.json");

/// The level the tables are computed for: `PACK_LEVEL` in `src/packed.rs`.
const LEVEL: i32 = 3;

/// The dictionary's id, in its header (not written in the frames: the format byte names the
/// dictionary). Ids below 32,768 and from 2^31 are reserved by zstd.
const DICT_ID: u32 = 0x6f70_0002;

/// The orders (one JSON object a line) of `files`.
fn orders(files: &[String]) -> Vec<String> {
    files
        .iter()
        .flat_map(|file| {
            let file = std::fs::File::open(file).expect("a sample file");
            std::io::BufReader::new(file).lines()
        })
        .map(|line| line.expect("a sample line"))
        .collect()
}

/// Packs every order of `held_out` five times with `dictionary` (as `src/packed.rs` does),
/// and prints the bytes and the CPU time per order.
fn compare(name: &str, dictionary: &[u8], held_out: &[String]) {
    let mut packer = zstd::bulk::Compressor::with_dictionary(LEVEL, dictionary).unwrap();
    packer
        .set_parameter(zstd::stream::raw::CParameter::DictIdFlag(false))
        .unwrap();
    let rounds = 5;
    let start = std::time::Instant::now();
    let mut bytes = 0;
    for _ in 0..rounds {
        for order in held_out {
            bytes += packer.compress(order.as_bytes()).unwrap().len();
        }
    }
    let packed = (rounds * held_out.len()) as f64;
    println!(
        "{name}: {:.1} bytes and {:.2} µs an order ({} held-out orders of {:.1} bytes of JSON)",
        bytes as f64 / packed,
        start.elapsed().as_secs_f64() * 1e6 / packed,
        held_out.len(),
        held_out.iter().map(String::len).sum::<usize>() as f64 / held_out.len() as f64,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, rest) = args
        .split_first()
        .expect("usage: order_dictionary OUT SAMPLES.jsonl... [--held-out FILE...]");
    let split = rest.iter().position(|a| a == "--held-out");
    let (sample_files, held_out_files) = match split {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let sample_orders = orders(sample_files);
    let samples: Vec<u8> = sample_orders.iter().flat_map(|o| o.bytes()).collect();
    let sizes: Vec<usize> = sample_orders.iter().map(String::len).collect();
    assert!(sizes.len() >= 100, "give at least 100 sample orders");
    let mut dictionary = vec![0_u8; CONTENT.len() + (64 << 10)];
    let params = zstd_sys::ZDICT_params_t {
        compressionLevel: LEVEL,
        notificationLevel: 0,
        dictID: DICT_ID,
    };
    // SAFETY: every pointer and its length come from a live slice or vector of that length,
    // and `sizes` has one entry per sample, summing to `samples.len()`.
    let size = unsafe {
        zstd_sys::ZDICT_finalizeDictionary(
            dictionary.as_mut_ptr().cast(),
            dictionary.len(),
            CONTENT.as_ptr().cast(),
            CONTENT.len(),
            samples.as_ptr().cast(),
            sizes.as_ptr(),
            u32::try_from(sizes.len()).expect("fewer samples"),
            params,
        )
    };
    // SAFETY: a plain function of the returned code.
    assert_eq!(
        unsafe { zstd_sys::ZDICT_isError(size) },
        0,
        "ZDICT_finalizeDictionary failed"
    );
    dictionary.truncate(size);
    assert!(dictionary.ends_with(CONTENT), "the content must be kept");
    std::fs::write(out, &dictionary).expect("write the dictionary");
    println!(
        "{out}: {size} bytes ({} of tables and header) from {} sample orders",
        size - CONTENT.len(),
        sizes.len()
    );
    let held_out = orders(held_out_files);
    if !held_out.is_empty() {
        compare("format 1's dictionary", CONTENT, &held_out);
        compare("the new dictionary  ", &dictionary, &held_out);
    }
}
