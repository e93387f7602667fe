//! Bridges (`connection` blocks) against a real mosquitto as the remote end: messages both
//! ways, prefixes, the `$SYS/broker/connection/<id>/state` notifications, and a remote that
//! restarts.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use mqtt_workbench::broker::BrokerConfig;

use crate::client_support::free_port;
use crate::common::{KillOnDrop, have_mosquitto, mosquitto_bin, run_tool, start_broker};

/// A real mosquitto on `port`, anonymous, logging to `remote.log` beside `conf`.
fn remote(conf: &Path, port: u16) -> KillOnDrop {
    remote_with(conf, port, "allow_anonymous true\n")
}

/// A real mosquitto on `port` with `extra` config lines, logging to `remote.log` beside
/// `conf`.
fn remote_with(conf: &Path, port: u16, extra: &str) -> KillOnDrop {
    let log = conf.with_file_name("remote.log");
    std::fs::write(
        conf,
        format!(
            "listener {port} 127.0.0.1\n{extra}log_type all\npersistence false\n\
             log_dest file {}\n",
            log.display()
        ),
    )
    .unwrap();
    // mosquitto started as root runs as `mosquitto`: let it write its log.
    let _ = Command::new("chmod")
        .args(["a+rwx", conf.parent().unwrap().to_str().unwrap()])
        .status();
    let child = KillOnDrop(
        Command::new(mosquitto_bin())
            .args(["-c", conf.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    // Ready when it accepts connections.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return child;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("mosquitto did not start on port {port}");
}

/// Waits until mosquitto's log file beside `conf` holds `needle`.
async fn remote_log(conf: &Path, needle: &str) {
    let log = conf.with_file_name("remote.log");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !std::fs::read_to_string(&log).is_ok_and(|t| t.contains(needle)) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no {needle:?} in mosquitto's log"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `mosquitto_sub -v -C count -W 15` on `port`, started in the background; its output.
fn subscribe(port: u16, id: &str, filter: &str, count: u32) -> tokio::task::JoinHandle<String> {
    subscribe_for(port, id, filter, count, 15)
}

/// `mosquitto_sub -v -C count -W secs` on `port`, started in the background; its output.
fn subscribe_for(
    port: u16,
    id: &str,
    filter: &str,
    count: u32,
    secs: u32,
) -> tokio::task::JoinHandle<String> {
    let args: Vec<String> = [
        "mosquitto_sub",
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-i",
        id,
        "-t",
        filter,
        "-v",
        "-C",
        &count.to_string(),
        "-W",
        &secs.to_string(),
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    tokio::spawn(async move {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        run_tool(&a, 20).await.1
    })
}

async fn publish(port: u16, id: &str, topic: &str, msg: &str, retain: bool) {
    let p = port.to_string();
    let mut a = vec![
        "mosquitto_pub",
        "-h",
        "127.0.0.1",
        "-p",
        &p,
        "-i",
        id,
        "-q",
        "1",
    ];
    a.extend(["-t", topic, "-m", msg]);
    if retain {
        a.push("-r");
    }
    let (ok, _, err) = run_tool(&a, 10).await;
    assert!(ok, "mosquitto_pub {topic}: {err}");
}

/// Waits until the retained state on `port` reads `want`.
async fn state_is(port: u16, topic: &str, want: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let out = subscribe(port, "state-reader", topic, 1).await.unwrap();
        if out.trim_end() == format!("{topic} {want}") {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "state on {port} is {out:?}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_bridge_to_mosquitto_carries_messages_both_ways_and_survives_a_restart() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let remote_port = free_port();
    let remote_conf = dir.path().join("remote.conf");
    let mut central = remote(&remote_conf, remote_port);
    let text = format!(
        "listener 0 127.0.0.1\nallow_anonymous true\n\
         connection central\naddress 127.0.0.1:{remote_port}\nremote_clientid edge1\n\
         cleansession true\nrestart_timeout 1 2\n\
         topic sensors/# out 1 edge/ site1/\ntopic cmd/# in 1\ntopic chat/# both 0\n"
    );
    let (cfg, _) = BrokerConfig::parse(&text).unwrap();
    let mut b = start_broker(cfg).await;
    let port = b.port();
    b.wait_log("Connecting bridge central (127.0.0.1:").await;
    let state = "$SYS/broker/connection/edge1/state";
    state_is(port, state, "1").await;
    state_is(remote_port, state, "1").await;

    // out, with prefixes: edge/sensors/... here is site1/sensors/... there.
    let there = subscribe(remote_port, "central-sub", "site1/sensors/#", 1);
    remote_log(&remote_conf, "Sending SUBACK to central-sub").await;
    publish(port, "edge-pub", "edge/sensors/t1", "21.5", false).await;
    assert_eq!(there.await.unwrap(), "site1/sensors/t1 21.5\n");

    // in.
    let here = subscribe(port, "edge-sub", "cmd/#", 1);
    b.wait_log("Sending SUBACK to edge-sub").await;
    publish(remote_port, "central-pub", "cmd/reboot", "now", false).await;
    assert_eq!(here.await.unwrap(), "cmd/reboot now\n");

    // both: each side sees each message once (no echo back through the bridge); a third
    // message would be a duplicate, so the subscribers wait 4 s for one.
    let here = subscribe_for(port, "edge-chat", "chat/#", 3, 4);
    let there = subscribe_for(remote_port, "central-chat", "chat/#", 3, 4);
    b.wait_log("Sending SUBACK to edge-chat").await;
    remote_log(&remote_conf, "Sending SUBACK to central-chat").await;
    publish(port, "edge-talk", "chat/edge", "hello", false).await;
    publish(remote_port, "central-talk", "chat/central", "hi", false).await;
    for out in [here.await.unwrap(), there.await.unwrap()] {
        let mut lines: Vec<&str> = out.lines().collect();
        lines.sort_unstable();
        assert_eq!(lines, ["chat/central hi", "chat/edge hello"], "{out}");
    }

    // The remote goes away: the state turns 0; it comes back: 1, and messages flow again.
    drop(central);
    b.wait_log("Bridge central lost its connection").await;
    state_is(port, state, "0").await;
    central = remote(&remote_conf, remote_port);
    state_is(port, state, "1").await;
    state_is(remote_port, state, "1").await;
    let there = subscribe(remote_port, "central-sub2", "site1/sensors/#", 1);
    remote_log(&remote_conf, "Sending SUBACK to central-sub2").await;
    publish(port, "edge-pub2", "edge/sensors/t2", "19", false).await;
    assert_eq!(there.await.unwrap(), "site1/sensors/t2 19\n");
    drop(central);
}

#[tokio::test]
async fn a_bridge_logs_in_to_a_tls_mosquitto_with_credentials() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = crate::profile_cli::make_certs(dir.path(), "bridge-ca");
    let pw = dir.path().join("passwd");
    let (ok, _, err) = run_tool(
        &[
            "mosquitto_passwd",
            "-c",
            "-b",
            pw.to_str().unwrap(),
            "edge",
            "s3cret",
        ],
        10,
    )
    .await;
    assert!(ok, "{err}");
    let _ = Command::new("chmod")
        .args(["-R", "a+rwX", dir.path().to_str().unwrap()])
        .status();
    let remote_port = free_port();
    let remote_conf = dir.path().join("remote.conf");
    let _central = remote_with(
        &remote_conf,
        remote_port,
        &format!(
            "allow_anonymous false\npassword_file {}\ncertfile {cert}\nkeyfile {key}\n\
             tls_version tlsv1.2\n",
            pw.display()
        ),
    );
    let text = format!(
        "listener 0 127.0.0.1\nallow_anonymous true\n\
         connection secure\naddress localhost:{remote_port}\nremote_clientid edge-tls\n\
         remote_username edge\nremote_password s3cret\nbridge_cafile {ca}\n\
         topic up/# out 1\n"
    );
    let (cfg, _) = BrokerConfig::parse(&text).unwrap();
    let mut b = start_broker(cfg).await;
    let port = b.port();
    state_is(port, "$SYS/broker/connection/edge-tls/state", "1").await;
    remote_log(&remote_conf, "as edge-tls").await;
    remote_log(&remote_conf, "u'edge'").await;
    b.wait_log("Connecting bridge secure (localhost:").await;
    // A wrong password: refused by mosquitto, the state stays 0 and the bridge retries.
    let text = format!(
        "listener 0 127.0.0.1\nallow_anonymous true\n\
         connection wrong\naddress localhost:{remote_port}\nremote_clientid edge-bad\n\
         remote_username edge\nremote_password nope\nbridge_cafile {ca}\n\
         restart_timeout 1\ntopic up/# out 1\n"
    );
    let (cfg, _) = BrokerConfig::parse(&text).unwrap();
    let mut bad = start_broker(cfg).await;
    bad.wait_log("Connection Refused: not authorised.").await;
    bad.wait_log("Connecting bridge wrong").await;
    state_is(bad.port(), "$SYS/broker/connection/edge-bad/state", "0").await;
}

#[test]
fn bridge_options_are_read_or_refused_with_the_reason() {
    let ok = "connection c\naddress 10.0.0.1:1884 [::1]\ntopic a/# both 2 l/ r/\n\
              topic \"\" in 1 local/one remote/one\nremote_username u\nremote_password p\n\
              try_private false\nnotifications false\nrestart_timeout 10\n";
    let (cfg, _) = BrokerConfig::parse(ok).unwrap();
    let b = &cfg.bridges[0];
    assert_eq!(
        b.addresses,
        [("10.0.0.1".to_owned(), 1884), ("::1".to_owned(), 1883)]
    );
    assert_eq!(b.topics.len(), 2);
    assert_eq!(b.topics[1].pattern, "");
    assert_eq!(b.restart_timeout, (10, None));
    assert!(!b.try_private && !b.notifications);
    for (bad, why) in [
        ("address 1.2.3.4\n", "must follow a 'connection' line"),
        (
            "connection c\ntopic a/# sideways\n",
            "direction must be in, out or both",
        ),
        ("connection c\ntopic a/# in 3\n", "QoS must be 0, 1 or 2"),
        (
            "connection c\ntopic a/# in 1 l/\n",
            "both a local and a remote prefix",
        ),
        (
            "connection c\nbridge_protocol_version mqttv50\n",
            "is not supported",
        ),
        ("connection c\nstart_type lazy\n", "is not supported"),
        ("connection c\nconnection c\n", "defined twice"),
    ] {
        let e = BrokerConfig::parse(bad).err().unwrap();
        assert!(e.1.contains(why), "{bad:?}: {}", e.1);
    }
}
