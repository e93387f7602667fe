//! Saved profiles from the command line against real brokers: `profile add` then
//! `sub --profile` against mosquitto with a password file, over TLS with certificates made
//! here, with MQTT 5, and over WebSockets (our broker: see `websocket_profile`).

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::path::{Path, PathBuf};

use crate::client_support::{Mosquitto, Proc, run, wb};
use crate::common::{have_mosquitto, start_broker};

/// A private config home: commands run with `XDG_CONFIG_HOME` pointing at it (and without
/// `MQTT_WORKBENCH_CONFIG_DIR`), so profiles land in `<it>/mqtt-workbench/profiles.toml`.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join("mqtt-workbench").join("profiles.toml")
    }

    fn argv<'a>(&'a self, extra_env: &'a [&'a str], args: &'a [&'a str]) -> Vec<String> {
        let mut v = vec![
            "-u".to_owned(),
            "MQTT_WORKBENCH_CONFIG_DIR".to_owned(),
            format!("XDG_CONFIG_HOME={}", self.dir.path().display()),
        ];
        v.extend(extra_env.iter().map(|s| (*s).to_owned()));
        v.push(wb().display().to_string());
        v.extend(args.iter().map(|s| (*s).to_owned()));
        v
    }

    /// Runs our binary to completion: (exit code, stdout, stderr).
    async fn run(&self, args: &[&str]) -> (i32, String, String) {
        self.run_env(&[], args).await
    }

    async fn run_env(&self, env: &[&str], args: &[&str]) -> (i32, String, String) {
        let argv = self.argv(env, args);
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        run("env", &refs).await
    }

    /// Starts our binary in the background.
    fn spawn(&self, args: &[&str]) -> Proc {
        let argv = self.argv(&[], args);
        let refs: Vec<&str> = argv.iter().map(String::as_str).collect();
        Proc::spawn("env", &refs, None)
    }
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn done_means_password_file_profile_list_and_mode() {
    if !have_mosquitto() {
        return;
    }
    let auth = tempfile::tempdir().unwrap();
    let pwfile = auth.path().join("passwd");
    let pw = pwfile.to_str().unwrap();
    let (code, _, err) = run("mosquitto_passwd", &["-c", "-b", pw, "alice", "secret"]).await;
    assert_eq!(code, 0, "mosquitto_passwd: {err}");
    let m = Mosquitto::start(&format!("allow_anonymous false\npassword_file {pw}")).await;
    let port = m.port.to_string();
    let home = Home::new();

    let (code, _, err) = home
        .run(&[
            "profile",
            "add",
            "lab",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-u",
            "alice",
            "-P",
            "secret",
        ])
        .await;
    assert_eq!(code, 0, "profile add: {err}");
    assert!(home.file().exists(), "profiles.toml under XDG_CONFIG_HOME");
    #[cfg(unix)]
    assert_eq!(
        mode(&home.file()),
        0o600,
        "a file with a password is private"
    );
    let first = std::fs::read(home.file()).unwrap();

    // sub --profile receives what mosquitto_pub publishes with the same credentials.
    let sub = home.spawn(&[
        "sub",
        "--profile",
        "lab",
        "-i",
        "wb-lab",
        "-t",
        "#",
        "-v",
        "-C",
        "1",
        "-W",
        "20",
    ]);
    m.wait_log("Sending SUBACK to wb-lab").await;
    let (code, _, err) = run(
        "mosquitto_pub",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-u",
            "alice",
            "-P",
            "secret",
            "-t",
            "lab/greeting",
            "-m",
            "hello",
        ],
    )
    .await;
    assert_eq!(code, 0, "mosquitto_pub: {err}");
    let (code, out, err) = sub.finish().await;
    assert_eq!(code, 0, "sub --profile: {err}");
    assert_eq!(String::from_utf8_lossy(&out), "lab/greeting hello\n");

    // list and show name the profile and never print the password.
    let (code, out, err) = home.run(&["profile", "list"]).await;
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("lab") && out.contains(&format!("mqtt://127.0.0.1:{port}")),
        "{out}"
    );
    assert!(out.contains("alice (password ***)"), "{out}");
    assert!(
        !out.contains("secret") && !err.contains("secret"),
        "{out}{err}"
    );
    let (code, out, _) = home.run(&["profile", "show", "lab"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("password = \"***\""), "{out}");
    assert!(!out.contains("secret"), "{out}");
    let (_, out, _) = home.run(&["profile", "export", "lab"]).await;
    assert!(
        !out.contains("secret") && out.contains("ask_password = true"),
        "{out}"
    );

    // A flag overrides the profile: the wrong password is refused (mosquitto_sub's 5).
    let (code, _, err) = home
        .run(&[
            "sub",
            "--profile",
            "lab",
            "-P",
            "wrong",
            "-t",
            "#",
            "-W",
            "10",
        ])
        .await;
    assert_eq!(code, 5, "refused CONNACK exit code; stderr: {err}");

    // password_env: read at connect time, with a clear error when missing.
    let (code, _, err) = home
        .run(&[
            "profile",
            "add",
            "envlab",
            "--from",
            "lab",
            "--password-env",
            "LAB_PW",
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        std::fs::read(home.file().with_file_name("profiles.toml.bak")).unwrap(),
        first,
        "the previous file is kept as .bak"
    );
    let (code, _, err) = home
        .run(&["pub", "--profile", "envlab", "-t", "x", "-m", "y"])
        .await;
    assert_eq!(code, 1);
    assert!(err.contains("LAB_PW (password_env) is not set"), "{err}");
    let (code, _, err) = home
        .run_env(
            &["LAB_PW=secret"],
            &["pub", "--profile", "envlab", "-t", "x", "-m", "y"],
        )
        .await;
    assert_eq!(code, 0, "pub with the password from the environment: {err}");
}

#[tokio::test]
async fn malformed_file_is_reported_with_line_and_column_and_left_alone() {
    let home = Home::new();
    std::fs::create_dir_all(home.file().parent().unwrap()).unwrap();
    let text = "# mine\n[[profile]]\nname = \"lab\"\nport = \"high\"\n";
    std::fs::write(home.file(), text).unwrap();
    let at = format!("{}:4:8:", home.file().display());
    for args in [
        &["profile", "list"][..],
        &["profile", "add", "x", "-h", "h"][..],
        &["profile", "rm", "lab"][..],
        &["sub", "--profile", "lab", "-t", "a"][..],
        &["pub", "--profile", "lab", "-t", "a", "-m", "b"][..],
    ] {
        let (code, _, err) = home.run(args).await;
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains(&at), "{args:?} should name {at}; got {err}");
    }
    assert_eq!(std::fs::read_to_string(home.file()).unwrap(), text);
    assert!(!home.file().with_file_name("profiles.toml.bak").exists());

    // An unknown key (a typo) fails loudly too.
    std::fs::write(home.file(), "[[profile]]\nname = \"lab\"\nhots = \"h\"\n").unwrap();
    let (code, _, err) = home.run(&["profile", "list"]).await;
    assert_eq!(code, 1);
    assert!(err.contains(":3:1: unknown field `hots`"), "{err}");
}

/// A CA and a server certificate for 127.0.0.1/localhost signed by it, as PEM files in
/// `dir`: (ca.pem, server.pem, server.key).
pub(crate) fn make_certs(dir: &Path, ca_name: &str) -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, ca_name);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let mut server =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    server
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let server_key = KeyPair::generate().unwrap();
    let server_cert = server.signed_by(&server_key, &issuer).unwrap();
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    (
        write(&format!("{ca_name}.pem"), ca_cert.pem()),
        write("server.pem", server_cert.pem()),
        write("server.key", server_key.serialize_pem()),
    )
}

#[tokio::test]
async fn tls_profile_with_cafile_subscribes_and_receives() {
    if !have_mosquitto() {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certs(certs.path(), "test-ca");
    let others = tempfile::tempdir().unwrap();
    let (other_ca, _, _) = make_certs(others.path(), "other-ca");
    let m = Mosquitto::start(&format!(
        "allow_anonymous true\ncafile {ca}\ncertfile {cert}\nkeyfile {key}"
    ))
    .await;
    let port = m.port.to_string();
    // --config-dir instead of XDG_CONFIG_HOME this time.
    let cfg = tempfile::tempdir().unwrap();
    let dir = cfg.path().to_str().unwrap();
    let (code, _, err) = run(
        wb(),
        &[
            "profile",
            "add",
            "tlslab",
            "--config-dir",
            dir,
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "--cafile",
            &ca,
            "-t",
            "tls/#",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let (_, shown, _) = run(wb(), &["profile", "show", "tlslab", "--config-dir", dir]).await;
    assert!(shown.contains("transport = \"tls\""), "{shown}");

    // No -t: the profile's default subscription is used.
    let sub = Proc::wb(&[
        "sub",
        "--config-dir",
        dir,
        "--profile",
        "tlslab",
        "-i",
        "wb-tls",
        "-v",
        "-C",
        "1",
        "-W",
        "20",
    ]);
    m.wait_log("Sending SUBACK to wb-tls").await;
    let (code, _, err) = run(
        "mosquitto_pub",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "--cafile",
            &ca,
            "-t",
            "tls/x",
            "-m",
            "secure",
        ],
    )
    .await;
    assert_eq!(code, 0, "mosquitto_pub over TLS: {err}");
    let (code, out, err) = sub.finish().await;
    assert_eq!(code, 0, "sub over TLS: {err}");
    assert_eq!(String::from_utf8_lossy(&out), "tls/x secure\n");

    // The same broker with a CA that did not sign its certificate: refused, in words.
    let (code, _, err) = run(
        wb(),
        &[
            "profile",
            "add",
            "wrongca",
            "--config-dir",
            dir,
            "--from",
            "tlslab",
            "--cafile",
            &other_ca,
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run(
        wb(),
        &[
            "sub",
            "--config-dir",
            dir,
            "--profile",
            "wrongca",
            "-t",
            "a",
            "-W",
            "10",
        ],
    )
    .await;
    // mosquitto_sub's status for a TLS failure (MOSQ_ERR_TLS).
    assert_eq!(code, 8, "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
}

#[tokio::test]
async fn v5_profile_connects_with_mqtt_5_and_its_subscription_qos() {
    if !have_mosquitto() {
        return;
    }
    let m = Mosquitto::anonymous().await;
    let port = m.port.to_string();
    let home = Home::new();
    let (code, _, err) = home
        .run(&[
            "profile",
            "add",
            "five",
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-V",
            "5",
            "-i",
            "wb-v5",
            "-x",
            "120",
            "-t",
            "v5/#",
            "-q",
            "1",
        ])
        .await;
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(home.file()).unwrap();
    assert!(
        text.contains("version = \"5\"") && text.contains("session_expiry = 120"),
        "{text}"
    );
    let sub = home.spawn(&["sub", "--profile", "five", "-v", "-C", "1", "-W", "20"]);
    m.wait_log("as wb-v5 (p5, c1, k60)").await;
    m.wait_log("v5/# (QoS 1)").await;
    m.wait_log("Sending SUBACK to wb-v5").await;
    let (code, _, err) = run(
        "mosquitto_pub",
        &[
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-V",
            "5",
            "-q",
            "1",
            "-t",
            "v5/x",
            "-m",
            "five",
        ],
    )
    .await;
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = sub.finish().await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(String::from_utf8_lossy(&out), "v5/x five\n");
}

/// mosquitto 2.0.11 on Debian with its libwebsockets binds a `protocol websockets` listener
/// and then exits with "Unable to start any listening sockets" (with or without a bind
/// address, and with `socket_domain ipv4`), so the WebSocket profile runs against our
/// broker's `protocol websockets` listener.
#[tokio::test]
async fn websocket_profile_subscribes_and_receives() {
    let (cfg, _) = mqtt_workbench::broker::BrokerConfig::parse(
        "listener 0 127.0.0.1\nallow_anonymous true\nlistener 0 127.0.0.1\nprotocol websockets\n",
    )
    .unwrap();
    let mut b = start_broker(cfg).await;
    let ws = b.handle.local_addrs[1].port();
    let home = Home::new();
    let url = format!("ws://127.0.0.1:{ws}/mqtt");
    let (code, _, err) = home
        .run(&["profile", "add", "web", "-L", &url, "-t", "ws/#"])
        .await;
    assert_eq!(code, 0, "{err}");
    let (_, out, _) = home.run(&["profile", "list"]).await;
    assert!(out.contains(&url), "{out}");
    let sub = home.spawn(&[
        "sub",
        "--profile",
        "web",
        "-i",
        "wb-ws",
        "-v",
        "-C",
        "1",
        "-W",
        "20",
    ]);
    b.wait_log("Sending SUBACK to wb-ws").await;
    let mut p = crate::common::RawClient::connect_v311(b.addr, "tcp-pub").await;
    p.send(&crate::common::publish_packet(
        "ws/x", b"framed", 0, false, 0,
    ))
    .await;
    let (code, out, err) = sub.finish().await;
    assert_eq!(code, 0, "{err}");
    assert_eq!(String::from_utf8_lossy(&out), "ws/x framed\n");
}

/// Task `polish`, item 3: the commands the workbench copies for a TLS profile carry its TLS
/// options, version and username (never the password, which the notice says is left out),
/// and really connect: mosquitto_sub and `mqtt-workbench sub` as copied from the subscribe
/// dialog, and mosquitto_pub as the composer's command, against a mosquitto TLS listener.
#[tokio::test]
async fn commands_copied_for_a_tls_profile_connect_to_a_tls_listener() {
    use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};
    use mqtt_workbench::lessons::shell::Tool;
    use mqtt_workbench::tui::app::{App, Effect, Limits, StartInfo, lesson};
    use mqtt_workbench::tui::client_link::OutgoingPublish;
    use mqtt_workbench::tui::keymap;

    if !have_mosquitto() {
        return;
    }
    let certs = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_certs(certs.path(), "copy-ca");
    let m = Mosquitto::start(&format!(
        "allow_anonymous true\ncafile {ca}\ncertfile {cert}\nkeyfile {key}"
    ))
    .await;
    let port = m.port;
    let mut lab = mqtt_workbench::profile::Profile::named("lab");
    lab.host = Some("127.0.0.1".into());
    lab.port = Some(port);
    lab.transport = Some(mqtt_workbench::client::Transport::Tls);
    lab.version = Some(mqtt_workbench::protocol::MqttVersion::V5);
    lab.username = Some("alice".into());
    lab.password = Some(mqtt_workbench::profile::Secret::new("s3cret-pw"));
    lab.tls.ca_file = Some(ca.clone());
    let mut app = App::new(
        StartInfo {
            broker_addr: Some("127.0.0.1:1".into()),
            client_target: "127.0.0.1:1".into(),
            client_id: "wb-copy".into(),
            profiles: vec![lab],
            ..StartInfo::default()
        },
        Limits::default(),
    );
    let press = |app: &mut App, code: KeyCode, mods: KeyModifiers| {
        let ev = Event::Key(KeyEvent::new(code, mods));
        keymap::action_for(app, &ev).map_or_else(Vec::new, |a| app.update(a))
    };
    press(&mut app, KeyCode::Char('P'), KeyModifiers::NONE);
    press(&mut app, KeyCode::Char('j'), KeyModifiers::NONE);
    let fx = press(&mut app, KeyCode::Enter, KeyModifiers::NONE);
    assert!(matches!(fx.as_slice(), [Effect::Connect(_)]), "{fx:?}");
    press(&mut app, KeyCode::Char('s'), KeyModifiers::NONE);
    for c in "tls/#".chars() {
        press(&mut app, KeyCode::Char(c), KeyModifiers::NONE);
    }
    let copied = |fx: Vec<Effect>| match fx.as_slice() {
        [Effect::Copy(c)] => c.clone(),
        other => panic!("nothing copied: {other:?}"),
    };
    let theirs = copied(press(&mut app, KeyCode::Char('y'), KeyModifiers::CONTROL));
    let notice = app.notice().unwrap_or_default().to_owned();
    let ours = copied(press(&mut app, KeyCode::Char('y'), KeyModifiers::ALT));
    assert_eq!(
        theirs,
        format!("mosquitto_sub -h 127.0.0.1 -p {port} --cafile {ca} -V 5 -u alice -t 'tls/#' -v")
    );
    assert!(
        ours.starts_with("mqtt-workbench sub -h 127.0.0.1"),
        "{ours}"
    );
    for c in [&theirs, &ours, &notice] {
        assert!(
            !c.contains("s3cret-pw"),
            "the password is never copied: {c}"
        );
    }
    // What is left out comes first, before a command the status line may cut.
    assert!(
        notice.starts_with("copied (password left out: add -P): mosquitto_sub"),
        "{notice}"
    );

    // Both subscribe over TLS as copied; the composer's mosquitto_pub command reaches them.
    let exe = wb().display().to_string();
    let run_sub = |cmd: &str, id: &str| {
        let line = format!(
            "{} -i {id} -C 1 -W 20",
            cmd.replacen("mqtt-workbench", &exe, 1)
        );
        Proc::spawn("sh", &["-c", &line], None)
    };
    let sub_theirs = run_sub(&theirs, "copy-theirs");
    let sub_ours = run_sub(&ours, "copy-ours");
    m.wait_log("Sending SUBACK to copy-theirs").await;
    m.wait_log("Sending SUBACK to copy-ours").await;
    assert!(m.log_text().contains("u'alice'"), "{}", m.log_text());
    let publish = OutgoingPublish {
        topic: "tls/copied".into(),
        payload: bytes::Bytes::from_static(b"over TLS"),
        qos: 1,
        retain: false,
        props: Default::default(),
    };
    let pub_cmd = lesson::pub_command(&publish, &app.link().command_endpoint(), Tool::Mosquitto);
    assert!(
        pub_cmd.contains(&format!("--cafile {ca} -V 5 -u alice")),
        "{pub_cmd}"
    );
    let (code, _, err) = run("sh", &["-c", &pub_cmd]).await;
    assert_eq!(code, 0, "{pub_cmd}: {err}");
    for s in [sub_theirs, sub_ours] {
        let (code, out, err) = s.finish().await;
        assert_eq!(
            (code, String::from_utf8_lossy(&out).as_ref()),
            (0, "tls/copied over TLS\n"),
            "{err}"
        );
    }
}
