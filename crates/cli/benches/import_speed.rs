//! `orderport import` against the wire, side by side in one run (a bench binary that prints
//! its figures; docs/performance.md records them).
//!
//! A Custom Store export of about 20,000 orders (40 pages of 500, rendered once by the Spark
//! Shipping simulator) is served from memory over loopback, and the same bytes are:
//!
//! 1. fetched page after page and thrown away (the **fetch floor**), and fetched with the
//!    import's pages in flight (the concurrent floor);
//! 2. tokenized by quick-xml with no work per event (the **tokenize floor**, one core);
//! 3. imported by the `orderport` binary into an NDJSON file, with pages fetched ahead (the
//!    default `pages_ahead`) and one page at a time (`pages_ahead = 0`);
//! 4. imported by a Python urllib + xmltodict script doing the same job (fetch, parse, convert
//!    the dates, write JSON lines), if `python3` with `xmltodict` is present.
//!
//! Each side runs `ORDERPORT_BENCH_RUNS` times (default 3), interleaved, and the best wall time
//! is reported with the ratios. Then one import of a 200,000-order window reports the peak
//! memory (`ru_maxrss` of the child). `ORDERPORT_BENCH_BIG=0` skips it.
//!
//! Run: `cargo bench -p orderport-cli --bench import_speed` (`ORDERPORT_BIN` measures another
//! build of the binary on the same bytes). Without `--bench` (as `cargo test --all-targets`
//! runs it) it is a smoke run: 2,000 orders once, no script, no big window.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use axum::extract::State;
use axum::http::Uri;
use axum::response::IntoResponse;
use axum::Router;
use orderport_sim::chrono::{Duration, TimeZone, Utc};
use orderport_sim::{ChannelSim, Faults, Flavor, GeneratorConfig, SimClock, SimStore};
use quick_xml::events::Event;
use quick_xml::Reader;

const PAGE_SIZE: usize = 500;
const PYTHON: &str = include_str!("import_speed.py");

/// An export rendered once: its pages, and the store that served it.
struct Export {
    pages: Arc<Vec<bytes::Bytes>>,
    store: SimStore,
    from: String,
    to: String,
    orders: usize,
}

/// What one run of a child process cost.
#[derive(Debug, Clone, Copy)]
struct Cost {
    wall: StdDuration,
    cpu: StdDuration,
    max_rss_kib: i64,
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this binary without it,
    // as a smoke test: a small export once, without the script and the big window.
    let measuring = std::env::args().any(|a| a == "--bench");
    let runs: usize = if measuring {
        env_or("ORDERPORT_BENCH_RUNS", 3)
    } else {
        1
    };
    let big: usize = if measuring {
        env_or("ORDERPORT_BENCH_BIG", 1)
    } else {
        0
    };
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let python = if measuring {
        python_with_xmltodict()
    } else {
        None
    };

    let export = runtime.block_on(render(if measuring { 20_000 } else { 2_000 }));
    let bytes: usize = export.pages.iter().map(|p| p.len()).sum();
    let url = runtime.block_on(serve(Arc::clone(&export.pages)));
    let stores = write_stores(dir.path(), &url, &export.store);
    println!(
        "export: {} orders, {} pages of up to {PAGE_SIZE}, {:.1} MB of XML",
        export.orders,
        export.pages.len(),
        bytes as f64 / 1e6
    );

    let mut floor = Vec::new();
    let mut concurrent = Vec::new();
    let mut tokenize = Vec::new();
    let mut ahead = Vec::new();
    let mut one_at_a_time = Vec::new();
    let mut script = Vec::new();
    let mut out_bytes = 0;
    for _ in 0..runs {
        floor.push(runtime.block_on(fetch_all(&url, export.pages.len(), 1)));
        concurrent.push(runtime.block_on(fetch_all(&url, export.pages.len(), 4)));
        tokenize.push(tokenize_all(&export.pages));
        let out = dir.path().join("orders.jsonl");
        ahead.push(import(&stores, "ahead", &export, &out));
        out_bytes = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
        one_at_a_time.push(import(&stores, "one-at-a-time", &export, &out));
        if let Some(python) = &python {
            script.push(run_script(python, dir.path(), &url, &export));
        }
    }
    let best = |costs: &[StdDuration]| costs.iter().min().copied().unwrap_or_default();
    let best_cost = |costs: &[Cost]| {
        costs
            .iter()
            .min_by_key(|c| c.wall)
            .copied()
            .expect("at least one run")
    };
    let floor = best(&floor);
    let concurrent = best(&concurrent);
    let tokenize = best(&tokenize);
    let ahead = best_cost(&ahead);
    let one = best_cost(&one_at_a_time);
    println!(
        "NDJSON out: {:.1} MB; best of {runs}; {} cores",
        out_bytes as f64 / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("| side | wall | CPU (user+sys) | peak memory | vs fetch floor |");
    println!("|---|---|---|---|---|");
    let secs = |d: StdDuration| d.as_secs_f64();
    println!(
        "| fetch floor (one page at a time, bodies dropped) | {:.3} s | | | 1.0× |",
        secs(floor)
    );
    println!(
        "| fetch floor (4 pages in flight) | {:.3} s | | | {:.2}× |",
        secs(concurrent),
        secs(concurrent) / secs(floor)
    );
    println!(
        "| quick-xml tokenize only (one core, bytes in memory) | {:.3} s | | | {:.2}× |",
        secs(tokenize),
        secs(tokenize) / secs(floor)
    );
    for (label, cost) in [
        ("orderport import (pages ahead, default)", ahead),
        ("orderport import (pages_ahead = 0)", one),
    ] {
        println!(
            "| {label} | {:.3} s | {:.3} s | {:.1} MiB | {:.2}× |",
            secs(cost.wall),
            secs(cost.cpu),
            cost.max_rss_kib as f64 / 1024.0,
            secs(cost.wall) / secs(floor)
        );
    }
    if !script.is_empty() {
        let script = best_cost(&script);
        println!(
            "| Python urllib + xmltodict | {:.3} s | {:.3} s | {:.1} MiB | {:.2}× |",
            secs(script.wall),
            secs(script.cpu),
            script.max_rss_kib as f64 / 1024.0,
            secs(script.wall) / secs(floor)
        );
        println!(
            "orderport is {:.1}× faster than the script",
            secs(script.wall) / secs(ahead.wall)
        );
    } else {
        println!("(python3 with xmltodict not found: the script was not run)");
    }
    println!(
        "import / fetch floor: {:.2}× (goal ≤ 3×); pages ahead vs one at a time: {:.2}×",
        secs(ahead.wall) / secs(floor),
        secs(one.wall) / secs(ahead.wall)
    );

    if big != 0 {
        let export = runtime.block_on(render(200_000));
        let url = runtime.block_on(serve(Arc::clone(&export.pages)));
        let stores = write_stores(dir.path(), &url, &export.store);
        let out = dir.path().join("big.jsonl");
        let cost = import(&stores, "ahead", &export, &out);
        println!(
            "200,000-order window: {} orders, {} pages, {:.2} s, peak memory {:.1} MiB (goal < 64 MiB)",
            export.orders,
            export.pages.len(),
            secs(cost.wall),
            cost.max_rss_kib as f64 / 1024.0
        );
    }
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Renders about `orders` orders with the simulator, 500 a page, and keeps the pages' bytes.
async fn render(orders: u32) -> Export {
    let now = Utc.with_ymd_and_hms(2026, 3, 20, 12, 0, 0).unwrap();
    let days = 20;
    let sim = ChannelSim::start(
        Flavor::SparkShipping,
        GeneratorConfig {
            orders_per_day: orders / days,
            days,
            invalid_share: 0.0,
            ..GeneratorConfig::default()
        },
        Faults::none(),
        SimClock::fixed(now),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .expect("the simulator starts");
    sim.set_page_size(PAGE_SIZE);
    let store = sim.stores().remove(0);
    let from = now - Duration::days(i64::from(days) + 1);
    let client = reqwest::Client::new();
    let wall = |t: orderport_sim::chrono::DateTime<Utc>| {
        t.with_timezone(&store.timezone)
            .format("%m/%d/%Y %H:%M")
            .to_string()
    };
    let mut pages = Vec::new();
    let mut page = 1;
    loop {
        let mut url = reqwest::Url::parse(&store.url).expect("the store's URL");
        url.query_pairs_mut()
            .append_pair("action", "export")
            .append_pair("start_date", &wall(from))
            .append_pair("end_date", &wall(now))
            .append_pair("page", &page.to_string());
        let body = client
            .get(url)
            .basic_auth(&store.username, Some(&store.password))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .expect("the simulator answers")
            .bytes()
            .await
            .expect("a body");
        let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        let total: usize = text
            .split("pages=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .and_then(|n| n.parse().ok())
            .expect("an Orders element with pages");
        pages.push(body);
        if page >= total {
            break;
        }
        page += 1;
    }
    let orders = sim.orders_visible(&store.id, from, now).len();
    sim.shutdown().await;
    Export {
        pages: Arc::new(pages),
        store,
        from: from.to_rfc3339(),
        to: now.to_rfc3339(),
        orders,
    }
}

/// Serves the pages from memory: `?page=N` is page N, whatever else is asked.
async fn serve(pages: Arc<Vec<bytes::Bytes>>) -> String {
    async fn page(State(pages): State<Arc<Vec<bytes::Bytes>>>, uri: Uri) -> impl IntoResponse {
        let n = uri
            .query()
            .unwrap_or("")
            .split('&')
            .find_map(|pair| pair.strip_prefix("page="))
            .and_then(|n| n.parse::<usize>().ok())
            .unwrap_or(1)
            .max(1);
        let body = pages.get(n - 1).cloned().unwrap_or_else(|| {
            bytes::Bytes::from_static(b"<?xml version=\"1.0\"?><Orders pages=\"0\"></Orders>")
        });
        ([("content-type", "text/xml; charset=utf-8")], body)
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/shipstation", listener.local_addr().unwrap());
    let router = Router::new().fallback(page).with_state(pages);
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

fn write_stores(dir: &Path, url: &str, store: &SimStore) -> PathBuf {
    let path = dir.join("stores.toml");
    let entry = |id: &str, extra: &str| {
        format!(
            "[[store]]\nid = \"{id}\"\nname = \"{id}\"\nchannel = \"spark-shipping\"\nurl = \"{url}\"\nusername = \"{}\"\npassword = \"{}\"\ntimezone = \"{}\"\n{extra}\n",
            store.username, store.password, store.timezone
        )
    };
    let text = entry("ahead", "") + &entry("one-at-a-time", "pages_ahead = 0");
    std::fs::write(&path, text).expect("the stores file");
    path
}

async fn fetch_all(url: &str, pages: usize, in_flight: usize) -> StdDuration {
    use futures::StreamExt;
    let client = reqwest::Client::new();
    let started = Instant::now();
    let fetched: usize = futures::stream::iter(1..=pages)
        .map(|page| {
            let client = client.clone();
            async move {
                let body = client
                    .get(format!("{url}?action=export&page={page}"))
                    .send()
                    .await
                    .expect("a reply")
                    .bytes()
                    .await
                    .expect("a body");
                body.len()
            }
        })
        .buffered(in_flight)
        .fold(0, |sum, n| async move { sum + n })
        .await;
    assert!(fetched > 0);
    started.elapsed()
}

fn tokenize_all(pages: &[bytes::Bytes]) -> StdDuration {
    let started = Instant::now();
    let mut events = 0usize;
    for page in pages {
        let mut reader = Reader::from_reader(&page[..]);
        loop {
            match reader.read_event() {
                Ok(Event::Eof) => break,
                Ok(_) => events += 1,
                Err(e) => panic!("the export is well-formed: {e}"),
            }
        }
    }
    assert!(events > 0);
    started.elapsed()
}

fn import(stores: &Path, store: &str, export: &Export, out: &Path) -> Cost {
    let output = std::fs::File::create(out).expect("the output file");
    let binary =
        std::env::var("ORDERPORT_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_orderport").into());
    let mut command = Command::new(binary);
    command
        .args(["import", "--config"])
        .arg(stores)
        .args([
            "--store",
            store,
            "--from",
            &export.from,
            "--to",
            &export.to,
            "--rejects",
        ])
        .arg(out.with_extension("rejects"))
        .env("RUST_LOG", "warn")
        .stdout(output)
        .stderr(Stdio::null());
    let cost = measure(command);
    let lines = std::fs::read(out)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0);
    assert_eq!(lines, export.orders, "every order imported");
    cost
}

fn python_with_xmltodict() -> Option<PathBuf> {
    let ok = Command::new("python3")
        .args(["-c", "import xmltodict"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| PathBuf::from("python3"))
}

fn run_script(python: &Path, dir: &Path, url: &str, export: &Export) -> Cost {
    let script = dir.join("import_speed.py");
    std::fs::write(&script, PYTHON).expect("the script");
    let out = dir.join("python.jsonl");
    let mut command = Command::new(python);
    command
        .arg(&script)
        .args([
            url,
            &export.store.username,
            &export.store.password,
            &export.store.timezone.to_string(),
        ])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    let cost = measure(command);
    let lines = std::fs::read(&out)
        .map(|b| b.iter().filter(|c| **c == b'\n').count())
        .unwrap_or(0);
    assert_eq!(lines, export.orders, "the script wrote every order");
    cost
}

/// Runs a child and reports its wall time, CPU time (`wait4`) and peak resident memory: the
/// child's `VmHWM`, polled every millisecond until it exits. (`ru_maxrss` would count the
/// bench's own memory, which the child holds between fork and exec.)
#[allow(clippy::zombie_processes)] // reaped by wait4, which also reports its CPU time
fn measure(mut command: Command) -> Cost {
    let started = Instant::now();
    let child = command.spawn().expect("the child starts");
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = {
        let done = Arc::clone(&done);
        let status = format!("/proc/{pid}/status");
        std::thread::spawn(move || {
            let mut peak_kib = 0i64;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                if let Some(hwm) = std::fs::read_to_string(&status).ok().and_then(|text| {
                    text.lines()
                        .find_map(|l| l.strip_prefix("VmHWM:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
                }) {
                    peak_kib = peak_kib.max(hwm);
                }
                std::thread::sleep(StdDuration::from_millis(1));
            }
            peak_kib
        })
    };

    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills; the pid is our own child, waited once.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let max_rss_kib = poller.join().expect("the poller");
    assert_eq!(waited, pid, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the child failed: {status}"
    );
    let time = |t: libc::timeval| {
        StdDuration::from_secs(u64::try_from(t.tv_sec).unwrap_or(0))
            + StdDuration::from_micros(u64::try_from(t.tv_usec).unwrap_or(0))
    };
    Cost {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        max_rss_kib,
    }
}
