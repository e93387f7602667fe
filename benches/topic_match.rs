//! Topic matching with many subscriptions: the router's subscription tree against a linear
//! scan with the filter matcher.
//!
//! `cargo bench --bench topic_match`

use divan::{Bencher, black_box};
use mqtt_workbench::broker::router::subscriptions::Subscriptions;
use mqtt_workbench::protocol::SubscriptionOptions;
use mqtt_workbench::protocol::topic;

fn main() {
    divan::main();
}

/// The filter of subscription `i`: a device fleet where most clients watch their own
/// subtree, some watch a site, and a few watch everything.
fn filter(i: usize) -> String {
    match i % 10 {
        0 => format!("site/{}/+/status", i % 100),
        1 => format!("site/{}/dev/{i}/#", i % 100),
        9 if i % 1000 == 9 => "site/#".to_owned(),
        _ => format!("site/{}/dev/{i}/temp", i % 100),
    }
}

fn build(n: usize) -> Subscriptions {
    let mut s = Subscriptions::default();
    for i in 0..n {
        s.insert(i as u32, &filter(i), SubscriptionOptions::default(), None);
    }
    s
}

const TOPICS: [&str; 3] = [
    "site/42/dev/4242/temp",  // one exact, one `#`, the site-wide ones
    "site/7/dev/999999/temp", // no device subscription: wildcards only
    "site/3/gw/status",       // `+` level
];

#[divan::bench(args = [10_000, 100_000])]
fn tree_matches(bencher: Bencher, n: usize) {
    let subs = build(n);
    let mut out = Vec::with_capacity(1024);
    bencher.bench_local(|| {
        let mut total = 0;
        for t in TOPICS {
            out.clear();
            subs.matches(black_box(t), &mut out);
            total += out.len();
        }
        total
    });
}

#[divan::bench(args = [10_000])]
fn linear_scan(bencher: Bencher, n: usize) {
    let filters: Vec<String> = (0..n).map(filter).collect();
    bencher.bench_local(|| {
        let mut total = 0;
        for t in TOPICS {
            total += filters
                .iter()
                .filter(|f| topic::matches(f, black_box(t)))
                .count();
        }
        total
    });
}

#[divan::bench(args = [10_000, 100_000], sample_count = 10)]
fn build_tree(n: usize) -> usize {
    build(n).len()
}
