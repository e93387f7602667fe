//! Running the broker as a service, the way mosquitto runs on a Debian server: signals
//! (SIGHUP, SIGUSR1, SIGUSR2), Debian's stock configuration with `per_listener_settings`,
//! `pid_file`, `log_dest file`, and mosquitto's own clients as peers.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::broker_cli::BrokerProcess;
use crate::client_support::{free_port, wb};
use crate::common::{KillOnDrop, have_mosquitto, mosquitto_bin, run_tool};

/// Sends `signal` (a name such as `HUP`) to a process with the `kill` program.
fn send_signal(pid: u32, signal: &str) {
    let ok = Command::new("kill")
        .args(["-s", signal, &pid.to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "kill -s {signal} {pid} failed");
}

/// `mosquitto_passwd -b FILE USER PASSWORD` (`-c` creates the file).
async fn set_password(file: &Path, user: &str, password: &str, create: bool) {
    let mut args = vec!["mosquitto_passwd"];
    if create {
        args.push("-c");
    }
    args.extend(["-b", file.to_str().unwrap(), user, password]);
    let (ok, _, err) = run_tool(&args, 10).await;
    assert!(ok, "mosquitto_passwd: {err}");
}

/// `mosquitto_pub` with `args` and a 10 s limit: (success, stderr).
async fn publish(port: &str, args: &[&str]) -> (bool, String) {
    let mut all = vec!["mosquitto_pub", "-h", "127.0.0.1", "-p", port];
    all.extend_from_slice(args);
    let (ok, _, err) = run_tool(&all, 10).await;
    (ok, err)
}

#[tokio::test]
async fn sighup_reloads_the_password_file_and_keeps_clients_connected() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("passwd");
    set_password(&pw, "alice", "secret", true).await;
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!("listener 0 127.0.0.1\npassword_file {}\n", pw.display()),
    )
    .unwrap();
    let mut b = BrokerProcess::start(&["-c", conf.to_str().unwrap()]);
    let port = b.port_arg();
    let pid = b.child.0.id();
    // A subscriber logged in with the old password.
    let sub = tokio::process::Command::new("mosquitto_sub")
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-u",
            "alice",
            "-P",
            "secret",
        ])
        .args(["-i", "keeper", "-t", "news", "-C", "1", "-W", "30"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    b.wait_for("Sending SUBACK to keeper");

    set_password(&pw, "alice", "changed", false).await;
    set_password(&pw, "bob", "bobpw", false).await;
    send_signal(pid, "HUP");
    b.wait_for("Reloading config.");
    // The reload completes right after the line; the old password stops working.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (ok, err) = publish(
            &port,
            &["-u", "alice", "-P", "secret", "-t", "x", "-m", "old"],
        )
        .await;
        if !ok {
            assert!(err.contains("not authorised"), "{err}");
            break;
        }
        assert!(Instant::now() < deadline, "the old password still works");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The new users and passwords work.
    let (ok, err) = publish(
        &port,
        &["-u", "alice", "-P", "changed", "-t", "x", "-m", "a"],
    )
    .await;
    assert!(ok, "{err}");
    let (ok, err) = publish(
        &port,
        &["-u", "bob", "-P", "bobpw", "-t", "news", "-m", "fresh"],
    )
    .await;
    assert!(ok, "{err}");
    // The subscriber that logged in before the reload is still connected and gets it.
    let out = sub.wait_with_output().await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "fresh\n");
    assert!(
        !b.seen.iter().any(|l| l.starts_with("Client keeper")),
        "the subscriber was disconnected:\n{}",
        b.seen.join("\n")
    );
    // SIGHUP did not end the broker.
    assert!(b.child.0.try_wait().unwrap().is_none());
    send_signal(pid, "TERM");
    b.wait_for("terminating");
}

#[tokio::test]
async fn sighup_applies_a_new_acl_to_connected_clients() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let acl = dir.path().join("acl");
    std::fs::write(&acl, "topic readwrite open/#\n").unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "listener 0 127.0.0.1\nallow_anonymous true\nacl_file {}\n",
            acl.display()
        ),
    )
    .unwrap();
    let mut b = BrokerProcess::start(&["-c", conf.to_str().unwrap()]);
    let port = b.port_arg();
    let sub = tokio::process::Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port, "-i", "reader"])
        .args([
            "-t", "open/#", "-t", "closed/#", "-v", "-C", "1", "-W", "30",
        ])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    b.wait_for("Sending SUBACK to reader");
    // Before: closed/x is denied.
    let (ok, err) = publish(
        &port,
        &["-i", "w1", "-q", "1", "-t", "closed/x", "-m", "no"],
    )
    .await;
    assert!(ok, "{err}");
    b.wait_for("Denied PUBLISH from w1");
    std::fs::write(&acl, "topic readwrite open/#\ntopic readwrite closed/#\n").unwrap();
    send_signal(b.child.0.id(), "HUP");
    b.wait_for("Reloading config.");
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 0;
    loop {
        n += 1;
        let id = format!("w2-{n}");
        let (ok, err) = publish(
            &port,
            &["-i", &id, "-q", "1", "-t", "closed/x", "-m", "yes"],
        )
        .await;
        assert!(ok, "{err}");
        let line = b.wait_for(&format!("PUBLISH from {id}"));
        if line.starts_with("Received") {
            break;
        }
        assert!(Instant::now() < deadline, "the new ACL never applied");
    }
    // The subscriber that was connected before the reload receives under the new ACL.
    let out = sub.wait_with_output().await.unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "closed/x yes\n");
}

#[tokio::test]
async fn sigusr1_saves_persistence_and_sigusr2_prints_the_subscriptions() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "listener 0 127.0.0.1\nallow_anonymous true\npersistence true\n\
             persistence_location {}/\nautosave_interval 0\n",
            dir.path().display()
        ),
    )
    .unwrap();
    let db = dir.path().join("mqtt-workbench.db");
    let mut b = BrokerProcess::start(&["-c", conf.to_str().unwrap()]);
    let port = b.port_arg();
    let pid = b.child.0.id();
    let (ok, err) = publish(&port, &["-i", "keeper", "-r", "-t", "kept/t", "-m", "v"]).await;
    assert!(ok, "{err}");
    b.wait_for("Received PUBLISH from keeper");
    // `autosave_interval 0`: nothing reaches the disk until the signal (the store syncs it
    // then; `broker_durable` shows a kill -9 before it loses the message).
    send_signal(pid, "USR1");
    b.wait_for(&format!("Saving in-memory database to {}.", db.display()));
    b.wait_for(&format!("Saved in-memory database to {}.", db.display()));

    let _sub = KillOnDrop(
        Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &port, "-i", "watcher", "-q", "1"])
            .args(["-t", "a/+/c", "-W", "30"])
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    b.wait_for("Sending SUBACK to watcher");
    send_signal(pid, "USR2");
    b.wait_for("Subscriptions (1):");
    b.wait_for("\ta/+/c watcher (QoS 1)");
    b.wait_for("Retained messages: 1 (and ");
    assert!(b.child.0.try_wait().unwrap().is_none(), "still running");
    // Killed without a chance to save: what SIGUSR1 synced is in the file.
    b.child.0.kill().unwrap();
    b.child.0.wait().unwrap();
    let out = Command::new(assert_cmd::cargo::cargo_bin("mqtt-workbench"))
        .args(["broker", "--dump-persistence", db.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"topic\":\"kept/t\""), "{text}");
}

/// Debian's stock `/etc/mosquitto/mosquitto.conf` (read from the system when mosquitto is
/// installed from Debian, else the same lines), with its paths moved into `root`.
fn debian_conf(root: &Path) -> String {
    const SHAPE: &str = "pid_file /run/mosquitto/mosquitto.pid\n\npersistence true\n\
        persistence_location /var/lib/mosquitto/\n\n\
        log_dest file /var/log/mosquitto/mosquitto.log\n\ninclude_dir /etc/mosquitto/conf.d\n";
    let stock = std::fs::read_to_string("/etc/mosquitto/mosquitto.conf")
        .unwrap_or_else(|_| SHAPE.to_owned());
    let mut text = stock;
    for (from, to) in [
        ("/run/mosquitto/mosquitto.pid", "run/mosquitto.pid"),
        ("/var/lib/mosquitto/", "lib/"),
        ("/var/log/mosquitto/mosquitto.log", "log/mosquitto.log"),
        ("/etc/mosquitto/conf.d", "conf.d"),
    ] {
        assert!(text.contains(from), "not Debian's stock shape: {text}");
        text = text.replace(from, &root.join(to).to_string_lossy());
    }
    text
}

/// The files of one Debian-style installation in a temporary directory.
struct Install {
    dir: tempfile::TempDir,
    conf: PathBuf,
    ca: String,
    tls_port: String,
    plain_port: String,
}

impl Install {
    /// Debian's stock config plus `conf.d/listeners.conf`: a password + TLS 1.3 listener
    /// on all IPv4 interfaces, then an anonymous one on loopback, with
    /// `per_listener_settings true`. The anonymous listener comes last on purpose: without
    /// per-listener settings its `allow_anonymous true` would open the TLS listener too.
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["run", "lib", "log", "conf.d", "certs"] {
            std::fs::create_dir(root.join(d)).unwrap();
        }
        let (ca, cert, key) = crate::profile_cli::make_certs(&root.join("certs"), "debian-ca");
        let pw = root.join("passwd");
        set_password(&pw, "alice", "secret", true).await;
        let tls_port = free_port();
        let plain_port = std::iter::repeat_with(free_port)
            .find(|&p| p != tls_port)
            .unwrap();
        std::fs::write(
            root.join("conf.d/listeners.conf"),
            format!(
                "per_listener_settings true\n\n\
                 listener {tls_port}\nsocket_domain ipv4\ncertfile {cert}\nkeyfile {key}\n\
                 tls_version tlsv1.3\npassword_file {}\n\n\
                 listener {plain_port} 127.0.0.1\nallow_anonymous true\n",
                pw.display()
            ),
        )
        .unwrap();
        let conf = root.join("mosquitto.conf");
        std::fs::write(&conf, debian_conf(root)).unwrap();
        // mosquitto started as root switches to the `mosquitto` user: let it read and write.
        let _ = Command::new("chmod")
            .args(["-R", "a+rwX", root.to_str().unwrap()])
            .status();
        Self {
            dir,
            conf,
            ca,
            tls_port: tls_port.to_string(),
            plain_port: plain_port.to_string(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// Waits until the log file holds `needle`.
    async fn wait_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let text = std::fs::read_to_string(self.path("log/mosquitto.log")).unwrap_or_default();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the log file:\n{text}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// What mosquitto's clients see on this installation: one (success, stderr) per case.
    async fn client_view(&self) -> Vec<(&'static str, bool, String)> {
        fn tls<'a>(ca: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
            let mut a = vec!["--cafile", ca, "-t", "t", "-m", "m"];
            a.extend_from_slice(extra);
            a
        }
        let ca = self.ca.as_str();
        let cases: Vec<(&'static str, &str, Vec<&str>)> = vec![
            (
                "tls user",
                &self.tls_port,
                tls(ca, &["-u", "alice", "-P", "secret"]),
            ),
            ("tls anonymous", &self.tls_port, tls(ca, &[])),
            (
                "tls wrong password",
                &self.tls_port,
                tls(ca, &["-u", "alice", "-P", "wrong"]),
            ),
            (
                "tls wrong password v5",
                &self.tls_port,
                tls(ca, &["-V", "mqttv5", "-u", "alice", "-P", "wrong"]),
            ),
            (
                "loopback anonymous",
                &self.plain_port,
                vec!["-t", "t", "-m", "m"],
            ),
            (
                "loopback with a user name",
                &self.plain_port,
                vec!["-u", "carol", "-P", "any", "-t", "t", "-m", "m"],
            ),
            (
                "loopback plain on the TLS port",
                &self.tls_port,
                vec!["-u", "alice", "-P", "secret", "-t", "t", "-m", "m"],
            ),
        ];
        let mut out = Vec::new();
        for (name, port, args) in cases {
            let (ok, err) = publish(port, &args).await;
            out.push((name, ok, err));
        }
        // mosquitto_pub's `--tls-version tlsv1.2` is a minimum (it still offers 1.3), so the
        // version checks use a rustls client that offers exactly one version.
        for (name, version) in [
            ("handshake tls 1.2 only", &rustls::version::TLS12),
            ("handshake tls 1.3 only", &rustls::version::TLS13),
        ] {
            let r = handshake(&self.tls_port, &self.ca, version).await;
            out.push((name, r.is_ok(), r.err().unwrap_or_default()));
        }
        out
    }
}

/// A TLS handshake with 127.0.0.1:`port` offering only `version`, trusting `ca`.
async fn handshake(
    port: &str,
    ca: &str,
    version: &'static rustls::SupportedProtocolVersion,
) -> Result<(), String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[version])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    tokio::time::timeout(Duration::from_secs(10), connector.connect(name, tcp))
        .await
        .map_err(|_| "timeout".to_string())?
        .map(drop)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn debian_stock_config_with_per_listener_settings_behaves_as_mosquitto() {
    if !have_mosquitto() {
        return;
    }
    // The reference: mosquitto itself on the same installation.
    let theirs = {
        let inst = Install::new().await;
        let child = KillOnDrop(
            Command::new(mosquitto_bin())
                .args(["-c", inst.conf.to_str().unwrap()])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
        inst.wait_log("running").await;
        let view = inst.client_view().await;
        drop(child);
        view
    };
    let inst = Install::new().await;
    let child = Command::new(wb())
        .args(["broker", "-c", inst.conf.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut child = KillOnDrop(child);
    let log = inst.wait_log("running").await;
    assert!(
        log.contains(&format!(
            "Opening ipv4 listen socket on port {}.",
            inst.tls_port
        )),
        "{log}"
    );
    // pid_file names the process.
    let pid_text = std::fs::read_to_string(inst.path("run/mosquitto.pid")).unwrap();
    assert_eq!(pid_text.trim(), pid.to_string());
    let ours = inst.client_view().await;

    let expected = [
        ("tls user", true),
        ("tls anonymous", false),
        ("tls wrong password", false),
        ("tls wrong password v5", false),
        ("loopback anonymous", true),
        ("handshake tls 1.2 only", false),
        ("handshake tls 1.3 only", true),
    ];
    for (name, ok) in expected {
        let (_, o, err) = ours.iter().find(|c| c.0 == name).unwrap();
        assert_eq!(*o, ok, "{name}: {err}");
    }
    for ((name, t_ok, t_err), (_, o_ok, o_err)) in theirs.iter().zip(&ours) {
        assert_eq!(t_ok, o_ok, "{name}: mosquitto {t_err:?}, ours {o_err:?}");
        // The refusals read the same (for a wrong password: "not authorised" in 3.1.1,
        // "Not authorized" in 5.0, as mosquitto answers).
        if name.contains("anonymous") || name.contains("password") {
            assert_eq!(t_err, o_err, "{name}");
        }
    }

    // A clean stop: persistence saved, pid_file removed.
    send_signal(pid, "TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.0.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after SIGTERM");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success());
    inst.wait_log("terminating").await;
    assert!(inst.path("lib/mqtt-workbench.db").exists());
    assert!(!inst.path("run/mosquitto.pid").exists());
}

/// Starts `mqtt-workbench broker -c CONF` with `envs`, stdout and stderr collected.
fn start_plain(conf: &Path, envs: &[(&str, &str)]) -> KillOnDrop {
    let mut cmd = Command::new(wb());
    cmd.args(["broker", "-c", conf.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    KillOnDrop(cmd.spawn().unwrap())
}

/// Waits until `path` holds `needle`, returning the text.
async fn wait_file(path: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no {needle:?} in {}:\n{text}",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn systemd_gets_ready_at_start_and_stopping_at_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let sock_path = dir.path().join("notify.sock");
    let sock = tokio::net::UnixDatagram::bind(&sock_path).unwrap();
    let log = dir.path().join("broker.log");
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!("listener 0 127.0.0.1\nlog_dest file {}\n", log.display()),
    )
    .unwrap();
    let mut child = start_plain(&conf, &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())]);
    let mut buf = [0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), sock.recv(&mut buf))
        .await
        .expect("READY within 10 s")
        .unwrap();
    assert_eq!(&buf[..n], b"READY=1\n");
    // READY comes once the listeners accept connections.
    let text = wait_file(&log, "running").await;
    let port = text
        .lines()
        .find_map(|l| l.split_once("Opening ipv4 listen socket on port "))
        .map(|(_, p)| p.trim_end_matches('.').to_owned())
        .unwrap();
    assert!(std::net::TcpStream::connect(format!("127.0.0.1:{port}")).is_ok());
    send_signal(child.0.id(), "TERM");
    let n = tokio::time::timeout(Duration::from_secs(10), sock.recv(&mut buf))
        .await
        .expect("STOPPING within 10 s")
        .unwrap();
    assert_eq!(&buf[..n], b"STOPPING=1\n");
    assert!(child.0.wait().unwrap().success());
}

#[tokio::test]
async fn log_file_is_reopened_on_sighup_for_logrotate() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("broker.log");
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "listener 0 127.0.0.1\nlog_dest file {}\nlog_timestamp false\n",
            log.display()
        ),
    )
    .unwrap();
    let child = start_plain(&conf, &[]);
    let text = wait_file(&log, "running").await;
    let port = text
        .lines()
        .find_map(|l| l.strip_prefix("Opening ipv4 listen socket on port "))
        .map(|p| p.trim_end_matches('.').to_owned())
        .unwrap();
    // What logrotate does: move the file away, then SIGHUP. As in mosquitto, the
    // "Reloading config." line still goes to the old file; what follows, to a new one.
    let rotated = dir.path().join("broker.log.1");
    std::fs::rename(&log, &rotated).unwrap();
    send_signal(child.0.id(), "HUP");
    wait_file(&rotated, "Reloading config.").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.exists() {
        assert!(Instant::now() < deadline, "no new log file");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _c = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    let text = wait_file(&log, "New connection from 127.0.0.1:").await;
    assert!(!text.contains("running"), "a fresh file: {text}");
    let old = std::fs::read_to_string(&rotated).unwrap();
    assert!(old.starts_with("mqtt-workbench version"), "{old}");
    assert!(!old.contains("New connection"), "{old}");
    send_signal(child.0.id(), "TERM");
    wait_file(&log, "terminating").await;
}

#[tokio::test]
async fn log_type_and_connection_messages_filter_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("broker.log");
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "listener 0 127.0.0.1\nallow_anonymous true\nlog_dest file {}\nlog_timestamp false\n\
             log_type notice\nlog_type subscribe\nconnection_messages false\n",
            log.display()
        ),
    )
    .unwrap();
    let child = start_plain(&conf, &[]);
    let text = wait_file(&log, "running").await;
    let port = text
        .lines()
        .find_map(|l| l.strip_prefix("Opening ipv4 listen socket on port "))
        .map(|p| p.trim_end_matches('.').to_owned())
        .unwrap();
    // A client subscribes and leaves: only the `subscribe` class line shows, no connection
    // lines and no packet lines.
    let mut c =
        crate::common::RawClient::connect(format!("127.0.0.1:{port}").parse().unwrap()).await;
    c.send(&crate::common::connect_packet(4, "quiet", 0x02, 60))
        .await;
    c.recv().await.unwrap();
    c.send(&crate::common::subscribe_packet(1, "q/t", 0)).await;
    c.recv().await.unwrap();
    let text = wait_file(&log, "quiet 0 q/t").await;
    assert!(!text.contains("New connection"), "{text}");
    assert!(!text.contains("New client connected"), "{text}");
    assert!(!text.contains("Received SUBSCRIBE"), "{text}");
    assert!(!text.contains("Sending SUBACK"), "{text}");
    drop(c);
    send_signal(child.0.id(), "TERM");
    let text = wait_file(&log, "terminating").await;
    assert!(!text.contains("Client quiet"), "{text}");
}

#[tokio::test]
async fn log_dest_topic_publishes_like_mosquitto() {
    if !have_mosquitto() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        "listener 0 127.0.0.1\nallow_anonymous true\nlog_dest stdout\nlog_dest topic\n",
    )
    .unwrap();
    let mut b = BrokerProcess::start(&["-c", conf.to_str().unwrap()]);
    let port = b.port_arg();
    let sub = tokio::process::Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port, "-i", "logwatcher"])
        .args(["-t", "$SYS/broker/log/#", "-v", "-C", "6", "-W", "20"])
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    b.wait_for("Sending SUBACK to logwatcher");
    let (ok, err) = publish(&port, &["-i", "demo-pub", "-t", "x", "-m", "y"]).await;
    assert!(ok, "{err}");
    // A second client's lines make sure six lines come whatever arrived first.
    let (ok, err) = publish(&port, &["-i", "demo-pub2", "-t", "x", "-m", "y"]).await;
    assert!(ok, "{err}");
    let out = sub.wait_with_output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // -v shows every packet on stdout, but only the subscribe and notice classes are
    // published; the payload carries the time stamp like mosquitto's.
    let strip = |l: &str| -> String {
        let (topic, rest) = l.split_once(' ').unwrap();
        let (ts, msg) = rest.split_once(": ").unwrap();
        assert!(ts.chars().all(|c| c.is_ascii_digit()), "{l}");
        format!("{topic} {msg}")
    };
    // Log lines reach the topic through the router after the event, so the watcher's own
    // connection lines (logged just before it subscribed) may still arrive first.
    let all: Vec<&str> = text.lines().collect();
    let first = all
        .iter()
        .position(|l| strip(l).starts_with("$SYS/broker/log/M/subscribe"))
        .unwrap_or_else(|| panic!("no subscribe line: {text}"));
    for early in &all[..first] {
        let early = strip(early);
        assert!(
            early.starts_with("$SYS/broker/log/N New connection from 127.0.0.1:")
                || early.contains(" as logwatcher "),
            "only the watcher's own connection may come before its subscription: {text}"
        );
    }
    let lines = &all[first..];
    assert!(lines.len() >= 3, "{text}");
    assert_eq!(
        strip(lines[0]),
        "$SYS/broker/log/M/subscribe logwatcher 0 $SYS/broker/log/#"
    );
    assert!(
        strip(lines[1]).starts_with("$SYS/broker/log/N New connection from 127.0.0.1:"),
        "{text}"
    );
    assert!(
        strip(lines[2]).starts_with("$SYS/broker/log/N New client connected from 127.0.0.1:"),
        "{text}"
    );
    assert!(
        strip(lines[2]).ends_with(" as demo-pub (p2, c1, k60)."),
        "{text}"
    );
}

/// The effective user id of a process, from /proc.
fn uid_of(pid: u32) -> Option<u32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

#[tokio::test]
async fn user_drops_root_privileges_or_refuses_to_start() {
    if uid_of(std::process::id()) != Some(0) {
        eprintln!("SKIPPED: dropping privileges needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let _ = Command::new("chmod")
        .args(["a+rwx", dir.path().to_str().unwrap()])
        .status();
    let log = dir.path().join("broker.log");
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!(
            "listener 0 127.0.0.1\nuser nobody\nlog_dest file {}\n",
            log.display()
        ),
    )
    .unwrap();
    let child = start_plain(&conf, &[]);
    wait_file(&log, "running").await;
    wait_file(&log, "Dropped privileges to user 'nobody'").await;
    assert_eq!(uid_of(child.0.id()), Some(65534));
    send_signal(child.0.id(), "TERM");
    wait_file(&log, "terminating").await;

    // A user that does not exist: no start (never run as root by mistake).
    std::fs::write(&conf, "listener 0 127.0.0.1\nuser no-such-user-here\n").unwrap();
    let out = Command::new(wb())
        .args(["broker", "-c", conf.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "Unable to drop privileges to 'no-such-user-here' because this user does not exist."
        ),
        "{err}"
    );
}

/// Runs `openssl` in `dir`, failing the test on an error.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test]
async fn x509_v1_client_certificates_are_refused_with_advice_and_v3_ones_work() {
    if !have_mosquitto() {
        return;
    }
    if Command::new("openssl").arg("version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "openssl must be installed in CI"
        );
        eprintln!("SKIPPED: openssl not installed");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    let mut ca = vec!["req", "-x509", "-keyout", "ca.key", "-out", "ca.pem"];
    ca.extend(ec);
    ca.extend(["-subj", "/CN=v1-test-ca", "-days", "2"]);
    openssl(d, &ca);
    let sign = |csr: &str, out: &str, ext: Option<&str>| {
        let mut a = vec![
            "x509", "-req", "-in", csr, "-CA", "ca.pem", "-CAkey", "ca.key",
        ];
        a.extend(["-CAcreateserial", "-days", "2", "-out", out]);
        if let Some(e) = ext {
            a.extend(["-extfile", e]);
        }
        openssl(d, &a);
    };
    for (name, cn) in [("server", "localhost"), ("client", "v1client")] {
        let (key, csr, subj) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("/CN={cn}"),
        );
        let mut a = vec!["req", "-new", "-keyout", key.as_str(), "-out", csr.as_str()];
        a.extend(ec);
        a.extend(["-subj", subj.as_str()]);
        openssl(d, &a);
    }
    std::fs::write(
        d.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    // The advice the broker gives, verbatim: a v3 certificate from the same request.
    std::fs::write(
        d.join("client.ext"),
        "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    sign("server.csr", "server.pem", Some("server.ext"));
    sign("client.csr", "v1.pem", None);
    sign("client.csr", "v3.pem", Some("client.ext"));
    let p = |f: &str| d.join(f).to_string_lossy().into_owned();
    let text = format!(
        "listener 0 127.0.0.1\nallow_anonymous true\ncertfile {}\nkeyfile {}\ncafile {}\n\
         require_certificate true\n",
        p("server.pem"),
        p("server.key"),
        p("ca.pem")
    );
    let (cfg, _) = mqtt_workbench::broker::BrokerConfig::parse(&text).unwrap();
    let mut b = crate::common::start_broker(cfg).await;
    let port = b.port().to_string();
    let with_cert = |cert: String| {
        vec![
            "--cafile".to_owned(),
            p("ca.pem"),
            "--cert".to_owned(),
            cert,
            "--key".to_owned(),
            p("client.key"),
            "-t".to_owned(),
            "t".to_owned(),
            "-m".to_owned(),
            "m".to_owned(),
        ]
    };
    let v1 = with_cert(p("v1.pem"));
    let v1: Vec<&str> = v1.iter().map(String::as_str).collect();
    let (ok, _) = publish(&port, &v1).await;
    assert!(!ok, "a v1 client certificate was accepted");
    let line = b.wait_log("is an X.509 v1 certificate").await;
    assert!(
        line.contains("Client certificate from 127.0.0.1:"),
        "{line}"
    );
    assert!(line.contains("-extfile client.ext"), "{line}");
    let v3 = with_cert(p("v3.pem"));
    let v3: Vec<&str> = v3.iter().map(String::as_str).collect();
    let (ok, err) = publish(&port, &v3).await;
    assert!(ok, "the v3 certificate made as advised: {err}");
}

#[tokio::test]
async fn a_reload_puts_new_tls_certificates_in_force_for_new_connections() {
    let dir = tempfile::tempdir().unwrap();
    let (old_ca, cert, key) = crate::profile_cli::make_certs(dir.path(), "old-ca");
    let conf = dir.path().join("broker.conf");
    std::fs::write(
        &conf,
        format!("listener 0 127.0.0.1\nallow_anonymous true\ncertfile {cert}\nkeyfile {key}\n"),
    )
    .unwrap();
    let (cfg, _) = mqtt_workbench::broker::BrokerConfig::from_file(&conf).unwrap();
    let b = crate::common::start_broker(cfg).await;
    let port = b.port().to_string();
    // A client that connected before the rotation.
    let before = tls_stream(&port, &old_ca).await.unwrap();
    // Rotation: a certificate from another CA at the same paths, then a reload.
    let other = tempfile::tempdir().unwrap();
    let (new_ca, new_cert, new_key) = crate::profile_cli::make_certs(other.path(), "new-ca");
    std::fs::copy(&new_cert, &cert).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    b.handle.reload().await.unwrap();
    assert!(
        handshake(&port, &new_ca, &rustls::version::TLS13)
            .await
            .is_ok()
    );
    let err = handshake(&port, &old_ca, &rustls::version::TLS13)
        .await
        .unwrap_err();
    assert!(
        err.contains("UnknownIssuer") || err.contains("invalid peer certificate"),
        "{err}"
    );
    // The earlier connection is untouched: it still completes CONNECT.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut before = before;
    before
        .write_all(&crate::common::connect_packet(
            4,
            "before-rotation",
            0x02,
            60,
        ))
        .await
        .unwrap();
    let mut connack = [0u8; 4];
    tokio::time::timeout(Duration::from_secs(10), before.read_exact(&mut connack))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(connack, [0x20, 0x02, 0x00, 0x00]);
}

/// A TLS connection to 127.0.0.1:`port` trusting `ca`.
async fn tls_stream(
    port: &str,
    ca: &str,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}"))
        .await
        .map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    connector
        .connect(name, tcp)
        .await
        .map_err(|e| e.to_string())
}
