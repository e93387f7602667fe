//! `bench conn`: open N connections (CONNECT, wait for CONNACK), report the time until all
//! are connected, then keep them idle for a while so the broker's memory per connection can be
//! read from outside.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::client::Session;
use super::flow::resolve;
use super::report::{ConnSummary, Progress, print};
use super::stats::Latency;
use super::wire;
use super::{ConnArgs, Counters};

/// Runs `bench conn`, prints its summary and returns the exit code.
pub async fn run(args: ConnArgs) -> ExitCode {
    match execute(&args).await {
        Ok(s) => {
            print(&s, &s.text(), args.target.json);
            if s.failed == 0 && s.dropped_while_idle == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// What one connection task reports.
enum Outcome {
    Connected { latency_ns: u64 },
    Failed(String),
}

/// Runs `bench conn` and returns its summary.
pub async fn execute(args: &ConnArgs) -> Result<ConnSummary, String> {
    let t = &args.target;
    let addr = resolve(t).await?;
    let pid = std::process::id();
    let counters = Arc::new(Counters::default());
    let start = Instant::now();
    let progress = Progress::start("conn", counters.clone(), start, t.quiet);
    let permits = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let release = CancellationToken::new();
    let dropped = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut tasks = Vec::with_capacity(args.clients);
    for i in 0..args.clients {
        if let Some(r) = args.rate.filter(|r| *r > 0.0) {
            tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / r)).await;
        }
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let (tx, release, counters, dropped) = (
            tx.clone(),
            release.clone(),
            counters.clone(),
            dropped.clone(),
        );
        let version = t.version;
        let keep_alive = t.keep_alive;
        tasks.push(tokio::spawn(async move {
            let id = format!("bench-conn-{pid}-{i}");
            let began = Instant::now();
            let session = Session::connect(addr, version, &id, keep_alive).await;
            drop(permit);
            let session = match session {
                Ok(s) => {
                    let ns = u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    counters.connected.fetch_add(1, Ordering::Relaxed);
                    let _ = tx.send(Outcome::Connected { latency_ns: ns });
                    s
                }
                Err(e) => {
                    counters.failed.fetch_add(1, Ordering::Relaxed);
                    let _ = tx.send(Outcome::Failed(e.to_string()));
                    return;
                }
            };
            drop(tx);
            if !idle(session, keep_alive, &release).await {
                dropped.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    drop(tx);

    let mut latency = Latency::new();
    let mut errors = BTreeSet::new();
    let mut done = 0usize;
    while done < tasks.len() {
        match rx.recv().await {
            Some(Outcome::Connected { latency_ns }) => latency.record(latency_ns),
            Some(Outcome::Failed(e)) => {
                if errors.len() < 10 {
                    errors.insert(e);
                }
            }
            None => break,
        }
        done += 1;
    }
    let all_connected = start.elapsed();
    let idle_start = Instant::now();
    tokio::time::sleep(args.duration).await;
    let idle_s = idle_start.elapsed().as_secs_f64();
    release.cancel();
    // Give the DISCONNECTs a moment, without waiting on a broker that does not close.
    let _ = tokio::time::timeout(Duration::from_secs(10), futures::future::join_all(tasks)).await;
    progress.finish().await;

    let connected = counters.connected.load(Ordering::Relaxed);
    let secs = all_connected.as_secs_f64();
    Ok(ConnSummary {
        scenario: "conn",
        broker: addr.to_string(),
        mqtt_version: t.version,
        clients: args.clients,
        connected,
        failed: counters.failed.load(Ordering::Relaxed),
        all_connected_s: secs,
        connect_rate: if secs > 0.0 {
            connected as f64 / secs
        } else {
            0.0
        },
        connect_latency: latency.summary(),
        idle_s,
        dropped_while_idle: dropped.load(Ordering::Relaxed),
        errors: errors.into_iter().collect(),
    })
}

/// Holds a connection open, sending PINGREQ every half keep-alive, until `release`. Returns
/// false if the server closed it first.
async fn idle(session: Session, keep_alive: u16, release: &CancellationToken) -> bool {
    let mut stream = session.stream;
    let ping_every = if keep_alive > 0 {
        Duration::from_secs(u64::from(keep_alive)) / 2
    } else {
        Duration::from_secs(24 * 3600)
    };
    let mut buf = [0u8; 64];
    let mut out = BytesMut::with_capacity(4);
    loop {
        tokio::select! {
            () = release.cancelled() => {
                out.clear();
                wire::disconnect(&mut out);
                let _ = stream.write_all(&out).await;
                return true;
            }
            r = stream.read(&mut buf) => match r {
                // PINGRESP (or anything else) is ignored.
                Ok(n) if n > 0 => {}
                _ => return false,
            },
            () = tokio::time::sleep(ping_every) => {
                out.clear();
                wire::pingreq(&mut out);
                if stream.write_all(&out).await.is_err() {
                    return false;
                }
            }
        }
    }
}
