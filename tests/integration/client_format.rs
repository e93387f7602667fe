//! `sub -F` compared byte for byte with mosquitto_sub -F: both subscribe on the same broker,
//! the same messages are published, and the outputs must match line by line (timestamps
//! inside `%j`/`%J` masked, since the two processes read the clock at different instants).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use crate::client_support::{AnyBroker, Proc, run, run_with_stdin, subscribed};
use crate::common::have_mosquitto;

/// Every specifier without a clock, with widths, precision, padding and escapes.
const FORMAT: &str = "%t|%p|%q|%r|%m|%l|%x|%X|%C|%P|%R|%E|%F|%S|%D|%A|%5t|%-5l|%05l|%.2t|%10p|\
                      %-10x.|%%|@@|\\t\\\\\\0\\e|%j|%J";

/// Blanks the value of every `"tst":"..."`.
fn mask_tst(out: &[u8]) -> Vec<u8> {
    let key = b"\"tst\":";
    let mut res = Vec::with_capacity(out.len());
    let mut i = 0;
    while i < out.len() {
        if out[i..].starts_with(key) {
            res.extend_from_slice(key);
            i += key.len();
            // Optional tab (pretty), then the quoted value.
            while i < out.len() && out[i] != b'"' {
                res.push(out[i]);
                i += 1;
            }
            i += 1;
            while i < out.len() && out[i] != b'"' {
                i += 1;
            }
            i += 1;
            res.extend_from_slice(b"\"TST\"");
        } else {
            res.push(out[i]);
            i += 1;
        }
    }
    res
}

/// Publishes the sample set: text, JSON, binary with NUL and UTF-8, empty, retained, QoS 1
/// and 2, and (for v5) properties.
async fn publish_samples(port: &str, v5: bool) -> usize {
    let pub_ = |args: Vec<String>, stdin: Option<Vec<u8>>| async move {
        let mut all = vec!["-p".to_string(), port.to_string()];
        all.extend(args);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let (c, _, err) = run_with_stdin("mosquitto_pub", &refs, stdin.as_deref()).await;
        assert_eq!(c, 0, "{err}");
    };
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_string()).collect::<Vec<_>>();
    pub_(s(&["-t", "fmt/text", "-m", "Hello2 mqtt"]), None).await;
    pub_(
        s(&[
            "-t",
            "fmt/json",
            "-m",
            r#"{"t":21.5,"a":[1,-0,1e2,"\u00e9"],"o":{}}"#,
            "-q",
            "1",
        ]),
        None,
    )
    .await;
    pub_(
        s(&["-t", "fmt/bin", "-s", "-q", "2"]),
        Some(b"\x01\x02a\"\xc3\xa9\t\x00z\xff".to_vec()),
    )
    .await;
    pub_(s(&["-t", "fmt/empty", "-n", "-q", "2"]), None).await;
    let mut n = 4;
    if v5 {
        pub_(
            s(&[
                "-t",
                "fmt/props",
                "-m",
                "{\"v\":1}",
                "-V",
                "5",
                "-q",
                "1",
                "-D",
                "publish",
                "content-type",
                "application/json",
                "-D",
                "publish",
                "response-topic",
                "re/ply",
                "-D",
                "publish",
                "correlation-data",
                "cid-1",
                "-D",
                "publish",
                "payload-format-indicator",
                "1",
                "-D",
                "publish",
                "user-property",
                "unit",
                "C",
                "-D",
                "publish",
                "user-property",
                "k",
                "v",
            ]),
            None,
        )
        .await;
        n += 1;
    }
    n
}

async fn compare(mosquitto: bool, version: &str, pretty: bool) {
    let mut b = AnyBroker::start(mosquitto).await;
    let port = b.port();
    let v5 = version == "mqttv5";
    // A retained message first: both subscribers get it with r1 on subscribe.
    let (c, _, _) = run(
        "mosquitto_pub",
        &[
            "-p",
            &port,
            "-t",
            "fmt/retained",
            "-m",
            "old news",
            "-r",
            "-q",
            "1",
        ],
    )
    .await;
    assert_eq!(c, 0);
    let expected = if v5 { 6 } else { 5 };
    let count = expected.to_string();
    let mut common = vec![
        "-t", "fmt/#", "-q", "2", "-V", version, "-F", FORMAT, "-C", &count, "-W", "15",
    ];
    if pretty {
        common.push("--pretty");
    }
    let theirs = subscribed(&mut b, "mosquitto_sub", "their-sub", &common).await;
    let ours: Proc = subscribed(&mut b, "wb", "our-sub", &common).await;
    let n = publish_samples(&port, v5).await;
    assert_eq!(n + 1, expected);
    let (c1, out1, err1) = theirs.finish().await;
    let (c2, out2, err2) = ours.finish().await;
    assert_eq!((c1, c2), (0, 0), "{err1} / {err2}");
    let (a, o) = (mask_tst(&out1), mask_tst(&out2));
    let lines_a: Vec<&[u8]> = a.split(|b| *b == b'\n').collect();
    let lines_o: Vec<&[u8]> = o.split(|b| *b == b'\n').collect();
    assert!(
        lines_a.len() >= expected,
        "mosquitto_sub printed too little"
    );
    for (i, (x, y)) in lines_a.iter().zip(&lines_o).enumerate() {
        assert_eq!(
            String::from_utf8_lossy(x),
            String::from_utf8_lossy(y),
            "line {i} differs ({} {version} pretty={pretty})",
            b.name()
        );
    }
    assert_eq!(a, o, "{} {version}", b.name());
    // `%J` on non-JSON payloads: the same complaints on stderr.
    assert_eq!(err1, err2);
}

#[tokio::test]
async fn format_matches_mosquitto_sub_v311_on_mosquitto() {
    if !have_mosquitto() {
        return;
    }
    compare(true, "mqttv311", false).await;
}

#[tokio::test]
async fn format_matches_mosquitto_sub_v5_properties_on_mosquitto() {
    if !have_mosquitto() {
        return;
    }
    compare(true, "mqttv5", false).await;
}

#[tokio::test]
async fn format_pretty_json_matches_mosquitto_sub() {
    if !have_mosquitto() {
        return;
    }
    compare(true, "mqttv311", true).await;
}

#[tokio::test]
async fn format_matches_mosquitto_sub_on_our_broker() {
    if !have_mosquitto() {
        return;
    }
    compare(false, "mqttv311", false).await;
}
