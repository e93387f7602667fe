// The entry point of every fuzz target, one function each. Shared by the fuzz crate
// (fuzz/src/lib.rs) and the corpus replay in `cargo test`, which includes this file; it must
// therefore hold items only (no inner attributes or `//!` comments). Each function takes any
// bytes and must neither panic nor hang; where cheap, it checks an invariant too.

use mqtt_workbench::bench::wire;
use mqtt_workbench::broker::acl::{Access, Acl};
use mqtt_workbench::broker::auth::PasswordFile;
use mqtt_workbench::broker::config::BrokerConfig;
use mqtt_workbench::client::format::{OutputOptions, check_format, render};
use mqtt_workbench::client::{IncomingMessage, MessageProperties, Qos};
use mqtt_workbench::protocol::{Decoder, Packet};

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// Every fuzz target by name, for the corpus replay.
pub const TARGETS: &[(&str, Target)] = &[
    ("client_packets", client_packets),
    ("server_packets", server_packets),
    ("mosquitto_conf", mosquitto_conf),
    ("password_file", password_file),
    ("acl_file", acl_file),
    ("profile_file", profile_file),
    ("format_string", format_string),
];

/// The broker's decoder of client packets. The first byte picks the starting state: a fresh
/// connection (the first packet must be CONNECT) or one that has accepted a CONNECT of MQTT
/// 3.1, 3.1.1 or 5.0; the second byte, whether a packet size limit applies.
pub fn client_packets(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let Some((&limit, rest)) = rest.split_first() else {
        return;
    };
    let mut d = Decoder::new(if limit & 1 == 1 { 256 } else { 0 });
    if mode % 4 != 0 {
        let level = [3u8, 4, 5][usize::from(mode % 4) - 1];
        let name: &[u8] = if level == 3 { b"MQIsdp" } else { b"MQTT" };
        let mut body = vec![0, name.len() as u8];
        body.extend_from_slice(name);
        body.extend_from_slice(&[level, 0x02, 0, 60]);
        if level == 5 {
            body.push(0);
        }
        body.extend_from_slice(&[0, 1, b'f']);
        let mut connect = bytes::BytesMut::from(&[0x10, body.len() as u8][..]);
        connect.extend_from_slice(&body);
        assert!(
            matches!(d.decode(&mut connect), Ok(Some(Packet::Connect(_)))),
            "the prelude CONNECT must decode"
        );
    }
    let mut buf = bytes::BytesMut::from(rest);
    loop {
        let before = buf.len();
        match d.decode(&mut buf) {
            Ok(Some(_)) => assert!(buf.len() < before, "a packet consumed no bytes"),
            Ok(None) | Err(_) => return,
        }
    }
}

/// The benchmark client's decoder of server packets (MQTT 3.1.1 or 5.0 by the first byte).
pub fn server_packets(data: &[u8]) {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let v = if mode & 1 == 1 {
        mqtt_workbench::protocol::MqttVersion::V5
    } else {
        mqtt_workbench::protocol::MqttVersion::V311
    };
    while let Ok(Some((hdr, total))) = wire::frame_len(rest) {
        assert!(hdr <= total, "header longer than the frame");
        if total > rest.len() {
            return;
        }
        let _ = wire::parse(v, rest[0], &rest[hdr..total]);
        rest = &rest[total..];
    }
}

/// The line number in a parse error names a line of the input (or the one after its end).
fn check_line(text: &str, line: usize) {
    assert!(
        line >= 1 && line <= text.lines().count() + 1,
        "error line {line} outside the input"
    );
}

/// mosquitto.conf-style broker configuration.
pub fn mosquitto_conf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err((line, _)) = BrokerConfig::parse(text) {
        check_line(text, line);
    }
}

/// mosquitto_passwd-style password file. Parsing only: checking a password runs the file's
/// own PBKDF2 iteration count, which a (trusted) file may set as high as it likes.
pub fn password_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (file, _notes) = PasswordFile::parse(text, "fuzz");
    assert!(file.len() <= text.lines().count(), "more users than lines");
}

/// mosquitto-style ACL file, and the access check on a few topics.
pub fn acl_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Acl::parse(text) {
        Ok(acl) => {
            for topic in ["a/b", "$SYS/x", "u/alice/c", "", "#"] {
                for access in [Access::Read, Access::Write] {
                    let _ = acl.allows(Some("alice"), "c1", topic, access);
                    let _ = acl.allows(None, "c1", topic, access);
                }
            }
        }
        Err((line, _)) => check_line(text, line),
    }
}

/// The profile file (`profiles.toml`), read through the same function `profile import` uses.
pub fn profile_file(data: &[u8]) {
    let path = std::env::temp_dir().join(format!(
        "mqtt-workbench-fuzz-profile-{}.toml",
        std::process::id()
    ));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let _ = mqtt_workbench::profile::store::read_file(&path);
}

/// `-F` format strings: checked, then rendered against a message. The input is the format,
/// a 0 byte, then the payload.
pub fn format_string(data: &[u8]) {
    let (fmt, payload) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &b"{\"a\":[1,2.5,\"x\"]}"[..]),
    };
    let Ok(fmt) = std::str::from_utf8(fmt) else {
        return;
    };
    if check_format(fmt).is_err() {
        return;
    }
    let msg = IncomingMessage {
        topic: "fuzz/topic".into(),
        payload: bytes::Bytes::copy_from_slice(payload),
        qos: Qos::AtLeastOnce,
        retain: true,
        dup: false,
        pkid: 7,
        properties: MessageProperties {
            content_type: Some("text/plain".into()),
            user_properties: vec![("k".into(), "v".into())],
            ..MessageProperties::default()
        },
        received_at: std::time::SystemTime::UNIX_EPOCH,
    };
    for pretty in [false, true] {
        let opts = OutputOptions {
            format: Some(fmt.to_owned()),
            verbose: false,
            eol: true,
            pretty,
        };
        let _ = render(&msg, &opts);
    }
}
