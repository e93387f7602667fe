//! `mqtt-workbench decode`, the real binary: byte-exact snapshots of every packet type in
//! MQTT 3.1.1 and 5.0 (and a 3.1 CONNECT), a table of malformed packets that must each name
//! the error, its place and its clause, stdin with several packets, and the exit statuses.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::io::Write;
use std::process::{Command, Stdio};

use crate::client_support::wb;

/// Runs `mqtt-workbench decode ARGS` with `stdin`; returns (exit status, stdout, stderr).
fn decode(args: &[&str], stdin: &str) -> (i32, String, String) {
    let mut child = Command::new(wb())
        .arg("decode")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Well-formed packets: (snapshot name, -V, hex). Every packet type of 3.1.1 and 5.0, both
/// directions.
const WELL_FORMED: &[(&str, &str, &str)] = &[
    // MQTT 3.1.1
    (
        "v311_connect_will_user_password",
        "311",
        "10 19 00 04 4d 51 54 54 04 ee 00 3c 00 01 63 00 01 77 00 01 78 00 01 75 00 01 70",
    ),
    ("v311_connack_session_present", "311", "20 02 01 00"),
    (
        "v311_publish_qos2_retain",
        "311",
        "35 13 00 04 6d 71 74 74 00 05 48 65 6c 6c 6f 32 20 6d 71 74 74",
    ),
    ("v311_puback", "311", "40 02 00 05"),
    ("v311_pubrec", "311", "50 02 00 05"),
    ("v311_pubrel", "311", "62 02 00 05"),
    ("v311_pubcomp", "311", "70 02 00 05"),
    ("v311_subscribe", "311", "82 09 00 01 00 04 6d 71 74 74 02"),
    ("v311_suback", "311", "90 04 00 01 02 80"),
    ("v311_unsubscribe", "311", "a2 08 00 02 00 04 6d 71 74 74"),
    ("v311_unsuback", "311", "b0 02 00 02"),
    ("v311_pingreq", "311", "c0 00"),
    ("v311_pingresp", "311", "d0 00"),
    ("v311_disconnect", "311", "e0 00"),
    // MQTT 3.1
    (
        "v31_connect",
        "31",
        "10 11 00 06 4d 51 49 73 64 70 03 02 00 3c 00 03 63 33 31",
    ),
    // MQTT 5.0
    (
        "v5_connect_properties_will",
        "5",
        "10 28 00 04 4d 51 54 54 05 c6 00 3c 08 11 00 00 0e 10 21 00 0a 00 01 63 05 18 00 00 00 \
         05 00 01 77 00 01 78 00 01 75 00 01 70",
    ),
    (
        "v5_connack_properties",
        "5",
        "20 0c 00 00 09 12 00 03 61 62 63 21 00 14",
    ),
    (
        "v5_publish_qos1_properties",
        "5",
        "32 20 00 04 6d 71 74 74 00 07 0c 02 00 00 00 3c 03 00 04 74 65 78 74 48 65 6c 6c 6f 32 \
         20 6d 71 74 74",
    ),
    (
        "v5_publish_from_server_subscription_id",
        "5",
        "30 0e 00 04 6d 71 74 74 02 0b 05 48 65 6c 6c 6f",
    ),
    (
        "v5_puback_no_matching_subscribers",
        "5",
        "40 0b 00 05 10 07 1f 00 04 6e 6f 6e 65",
    ),
    ("v5_pubrec", "5", "50 03 00 05 00"),
    ("v5_pubrel_short", "5", "62 02 00 05"),
    ("v5_pubcomp_not_found", "5", "70 03 00 05 92"),
    (
        "v5_subscribe_options_shared",
        "5",
        "82 1b 00 01 02 0b 07 00 04 6d 71 74 74 1e 00 0c 24 73 68 61 72 65 2f 67 2f 61 2f 23 01",
    ),
    ("v5_suback", "5", "90 05 00 01 00 02 9e"),
    ("v5_unsubscribe", "5", "a2 09 00 02 00 00 04 6d 71 74 74"),
    ("v5_unsuback", "5", "b0 05 00 02 00 00 11"),
    ("v5_pingreq", "5", "c0 00"),
    ("v5_pingresp", "5", "d0 00"),
    ("v5_disconnect_with_will", "5", "e0 07 04 05 11 00 00 00 00"),
    (
        "v5_disconnect_from_server_use_another",
        "5",
        "e0 0a 9c 08 1c 00 05 6f 74 68 65 72",
    ),
    (
        "v5_auth_continue",
        "5",
        "f0 0c 18 0a 15 00 07 53 43 52 41 4d 2d 31",
    ),
];

#[test]
fn every_packet_type_byte_exact() {
    for (name, v, hex) in WELL_FORMED {
        let (code, out, err) = decode(&["-V", v, hex], "");
        assert_eq!(code, 0, "{name}: exit {code}\n{out}{err}");
        assert!(out.contains("well-formed"), "{name}:\n{out}");
        insta::assert_snapshot!(format!("decode_{name}"), out);
    }
}

/// Malformed packets: (-V, hex, clause, words of the error, byte offset of the fault).
const MALFORMED: &[(&str, &str, &str, &str, usize)] = &[
    // Fixed header.
    (
        "311",
        "00 00",
        "MQTT311 §2.2.1",
        "reserved packet type 0",
        0,
    ),
    (
        "311",
        "f0 00",
        "MQTT311 §2.2.1",
        "reserved packet type 15",
        0,
    ),
    (
        "311",
        "60 02 00 01",
        "[MQTT311-3.6.1-1]",
        "invalid fixed header flags",
        0,
    ),
    (
        "311",
        "80 06 00 01 00 01 61 00",
        "[MQTT311-3.8.1-1]",
        "invalid fixed header flags",
        0,
    ),
    (
        "311",
        "a0 05 00 01 00 01 61",
        "[MQTT311-3.10.1-1]",
        "invalid fixed header flags",
        0,
    ),
    (
        "311",
        "e1 00",
        "[MQTT311-3.14.1-1]",
        "invalid fixed header flags",
        0,
    ),
    (
        "311",
        "41 02 00 01",
        "[MQTT311-2.2.2-2]",
        "invalid fixed header flags",
        0,
    ),
    (
        "311",
        "c2 00",
        "[MQTT311-2.2.2-2]",
        "invalid fixed header flags",
        0,
    ),
    (
        "311",
        "d1 00",
        "[MQTT311-2.2.2-2]",
        "invalid fixed header flags",
        0,
    ),
    (
        "311",
        "30 80 00",
        "MQTT311 §2.2.3",
        "not minimally encoded",
        1,
    ),
    (
        "311",
        "30 ff ff ff ff 01",
        "MQTT311 §2.2.3",
        "longer than four bytes",
        1,
    ),
    (
        "311",
        "30 05 00 01 61",
        "MQTT311 §2.2.3",
        "bytes end before the Remaining Length",
        5,
    ),
    // PUBLISH.
    (
        "311",
        "36 05 00 01 61 00 01",
        "[MQTT311-3.3.1-4]",
        "PUBLISH with QoS 3",
        0,
    ),
    (
        "311",
        "38 03 00 01 61",
        "[MQTT311-3.3.1-2]",
        "DUP set on a QoS 0 PUBLISH",
        0,
    ),
    (
        "311",
        "30 03 00 01 2b",
        "[MQTT311-3.3.2-2]",
        "wildcard in a topic name",
        2,
    ),
    (
        "311",
        "30 04 00 02 61 23",
        "[MQTT311-3.3.2-2]",
        "wildcard in a topic name",
        2,
    ),
    (
        "311",
        "30 02 00 00",
        "[MQTT311-4.7.3-1]",
        "empty topic name",
        2,
    ),
    (
        "311",
        "32 05 00 01 61 00 00",
        "[MQTT311-2.3.1-1]",
        "packet identifier 0",
        5,
    ),
    ("311", "30 04 00 02 61 00", "[MQTT311-1.5.3-2]", "U+0000", 2),
    (
        "311",
        "30 04 00 02 c3 28",
        "[MQTT311-1.5.3-1]",
        "ill-formed UTF-8",
        2,
    ),
    (
        "311",
        "30 05 00 03 ed a0 80",
        "[MQTT311-1.5.3-1]",
        "ill-formed UTF-8",
        2,
    ),
    (
        "311",
        "30 04 00 02 61 01",
        "MQTT311 §1.5.3",
        "control character",
        2,
    ),
    (
        "311",
        "30 05 00 03 ef bf bf",
        "MQTT311 §1.5.3",
        "non-character",
        2,
    ),
    (
        "311",
        "30 03 00 05 61",
        "MQTT311 §2.2.3",
        "length field larger than the packet",
        4,
    ),
    // Acknowledgements, PINGREQ, DISCONNECT.
    (
        "311",
        "40 03 00 01 00",
        "MQTT311 §2.2.3",
        "unexpected bytes after the end",
        4,
    ),
    (
        "311",
        "40 02 00 00",
        "[MQTT311-2.3.1-1]",
        "packet identifier 0",
        2,
    ),
    (
        "311",
        "40 01 00",
        "MQTT311 §2.2.3",
        "packet ends inside a field",
        2,
    ),
    (
        "311",
        "c0 01 00",
        "MQTT311 §2.2.3",
        "unexpected bytes after the end",
        2,
    ),
    (
        "311",
        "e0 01 00",
        "MQTT311 §2.2.3",
        "unexpected bytes after the end",
        2,
    ),
    // CONNECT.
    (
        "311",
        "10 00",
        "MQTT311 §2.2.3",
        "packet ends inside a field",
        2,
    ),
    (
        "311",
        "10 0c 00 04 4d 51 54 58 04 02 00 3c 00 00",
        "[MQTT311-3.1.2-1]",
        "unknown protocol name",
        2,
    ),
    (
        "311",
        "10 0c 00 04 4d 51 54 54 06 02 00 3c 00 00",
        "[MQTT311-3.1.2-2]",
        "unsupported protocol version 6",
        8,
    ),
    (
        "31",
        "10 0e 00 06 4d 51 49 73 64 70 04 02 00 3c 00 00",
        "[MQTT311-3.1.2-2]",
        "unsupported protocol version 4 (MQIsdp)",
        10,
    ),
    (
        "311",
        "10 0c 00 04 4d 51 54 54 04 03 00 3c 00 00",
        "[MQTT311-3.1.2-3]",
        "reserved CONNECT flag is set",
        9,
    ),
    (
        "311",
        "10 0c 00 04 4d 51 54 54 04 0a 00 3c 00 00",
        "[MQTT311-3.1.2-13]",
        "will QoS or retain set without a will",
        9,
    ),
    (
        "311",
        "10 0c 00 04 4d 51 54 54 04 22 00 3c 00 00",
        "[MQTT311-3.1.2-15]",
        "will QoS or retain set without a will",
        9,
    ),
    (
        "311",
        "10 0c 00 04 4d 51 54 54 04 1e 00 3c 00 00",
        "[MQTT311-3.1.2-14]",
        "will QoS 3",
        9,
    ),
    (
        "311",
        "10 0c 00 04 4d 51 54 54 04 42 00 3c 00 00",
        "[MQTT311-3.1.2-22]",
        "password without a user name",
        9,
    ),
    (
        "311",
        "10 13 00 04 4d 51 54 54 04 06 00 3c 00 00 00 03 61 2f 23 00 00",
        "[MQTT311-4.7.1-1]",
        "wildcard in a topic name",
        14,
    ),
    (
        "311",
        "10 10 00 04 4d 51 54 54 04 06 00 3c 00 00 00 00 00 00",
        "[MQTT311-4.7.3-1]",
        "empty topic name",
        14,
    ),
    (
        "311",
        "10 0d 00 04 4d 51 54 54 04 02 00 3c 00 00 ff",
        "MQTT311 §2.2.3",
        "unexpected bytes after the end",
        14,
    ),
    // SUBSCRIBE, UNSUBSCRIBE.
    (
        "311",
        "82 06 00 01 00 01 61 04",
        "[MQTT311-3.8.3-4]",
        "reserved subscription option bits",
        7,
    ),
    (
        "311",
        "82 06 00 01 00 01 61 03",
        "[MQTT311-3.8.3-4]",
        "subscription with QoS 3",
        7,
    ),
    (
        "311",
        "82 02 00 01",
        "[MQTT311-3.8.3-3]",
        "SUBSCRIBE without a topic filter",
        4,
    ),
    (
        "311",
        "82 06 00 00 00 01 61 00",
        "[MQTT311-2.3.1-1]",
        "packet identifier 0",
        2,
    ),
    (
        "311",
        "82 05 00 01 00 00 00",
        "[MQTT311-4.7.3-1]",
        "empty topic filter",
        4,
    ),
    (
        "311",
        "82 0a 00 01 00 05 61 2f 23 2f 62 00",
        "[MQTT311-4.7.1-2]",
        "'#' not alone in the last level",
        4,
    ),
    (
        "311",
        "82 07 00 01 00 02 61 2b 00",
        "[MQTT311-4.7.1-3]",
        "'+' not alone in a level",
        4,
    ),
    (
        "311",
        "a2 04 00 01 00 00",
        "[MQTT311-4.7.3-1]",
        "empty topic filter",
        4,
    ),
    (
        "311",
        "a2 07 00 01 00 03 23 2f 61",
        "[MQTT311-4.7.1-2]",
        "'#' not alone in the last level",
        4,
    ),
    (
        "311",
        "a2 02 00 01",
        "[MQTT311-3.10.3-2]",
        "UNSUBSCRIBE without a topic filter",
        4,
    ),
    // Server to client.
    (
        "311",
        "20 02 02 00",
        "MQTT311 §3.2.2.1",
        "reserved CONNACK flag bits set",
        2,
    ),
    (
        "311",
        "20 02 00 06",
        "MQTT311 §3.2.2.3",
        "undefined CONNACK return code",
        3,
    ),
    (
        "311",
        "20 02 01 05",
        "[MQTT311-3.2.2-4]",
        "Session Present set on a refused",
        2,
    ),
    (
        "311",
        "20 03 00 00 00",
        "MQTT311 §2.2.3",
        "unexpected bytes after the end",
        4,
    ),
    (
        "311",
        "90 03 00 01 03",
        "[MQTT311-3.9.3-2]",
        "undefined SUBACK return code",
        4,
    ),
    (
        "311",
        "90 02 00 01",
        "[MQTT311-3.8.4-5]",
        "SUBACK without a return code",
        4,
    ),
    (
        "311",
        "b0 03 00 01 00",
        "MQTT311 §2.2.3",
        "unexpected bytes after the end",
        4,
    ),
    // MQTT 5.0.
    (
        "5",
        "f1 00",
        "[MQTT5-3.15.1-1]",
        "invalid fixed header flags",
        0,
    ),
    (
        "5",
        "60 02 00 01",
        "[MQTT5-3.6.1-1]",
        "invalid fixed header flags",
        0,
    ),
    (
        "5",
        "30 80 00",
        "[MQTT5-1.5.5-1]",
        "not minimally encoded",
        1,
    ),
    (
        "5",
        "36 05 00 01 61 00 01",
        "[MQTT5-3.3.1-4]",
        "PUBLISH with QoS 3",
        0,
    ),
    ("5", "30 04 00 02 61 00", "[MQTT5-1.5.4-2]", "U+0000", 2),
    (
        "5",
        "32 06 00 01 61 00 00 00",
        "[MQTT5-2.2.1-3]",
        "packet identifier 0",
        5,
    ),
    (
        "5",
        "30 06 00 01 61 02 05 00",
        "MQTT5 §2.2.2.2",
        "property not allowed in this packet",
        6,
    ),
    (
        "5",
        "30 06 00 01 61 02 80 02",
        "MQTT5 §2.2.2.2",
        "unknown property identifier",
        6,
    ),
    (
        "5",
        "30 06 00 01 61 02 01 02",
        "MQTT5 §2.2.2.2",
        "property value must be 0 or 1",
        6,
    ),
    (
        "5",
        "30 0e 00 01 61 0a 02 00 00 00 01 02 00 00 00 01",
        "MQTT5 §2.2.2.2",
        "property included more than once",
        11,
    ),
    (
        "5",
        "30 09 00 01 61 05 08 00 02 61 23",
        "[MQTT5-3.3.2-14]",
        "response topic",
        6,
    ),
    (
        "5",
        "30 05 00 01 61 05 01",
        "MQTT5 §2.1.4",
        "length field larger than the packet",
        5,
    ),
    (
        "5",
        "10 10 00 04 4d 51 54 54 05 02 00 3c 03 21 00 00 00 00",
        "MQTT5 §3.1.2.11.3",
        "receive maximum of 0",
        13,
    ),
    (
        "5",
        "10 12 00 04 4d 51 54 54 05 02 00 3c 05 27 00 00 00 00 00 00",
        "MQTT5 §3.1.2.11.4",
        "maximum packet size of 0",
        13,
    ),
    (
        "5",
        "10 10 00 04 4d 51 54 54 05 02 00 3c 03 23 00 01 00 00",
        "MQTT5 §2.2.2.2",
        "property not allowed in this packet",
        13,
    ),
    (
        "5",
        "10 0d 00 04 4d 51 54 54 05 1e 00 3c 00 00 00",
        "[MQTT5-3.1.2-12]",
        "will QoS 3",
        9,
    ),
    (
        "5",
        "10 0d 00 04 4d 51 54 54 05 0a 00 3c 00 00 00",
        "[MQTT5-3.1.2-11]",
        "will QoS or retain set without a will",
        9,
    ),
    (
        "5",
        "10 0d 00 04 4d 51 54 54 05 22 00 3c 00 00 00",
        "[MQTT5-3.1.2-13]",
        "will QoS or retain set without a will",
        9,
    ),
    (
        "5",
        "82 07 00 01 00 00 01 61 30",
        "MQTT5 §3.8.3.1",
        "retain handling 3",
        8,
    ),
    (
        "5",
        "82 07 00 01 00 00 01 61 40",
        "[MQTT5-3.8.3-5]",
        "reserved subscription option bits",
        8,
    ),
    (
        "5",
        "82 03 00 01 00",
        "[MQTT5-3.8.3-2]",
        "SUBSCRIBE without a topic filter",
        5,
    ),
    (
        "5",
        "82 09 00 01 02 0b 00 00 01 61 00",
        "MQTT5 §3.8.2.1.2",
        "subscription identifier 0",
        5,
    ),
    (
        "5",
        "a2 03 00 01 00",
        "[MQTT5-3.10.3-2]",
        "UNSUBSCRIBE without a topic filter",
        5,
    ),
    (
        "5",
        "82 0b 00 01 00 00 05 61 2f 23 2f 62 00",
        "[MQTT5-4.7.1-1]",
        "'#' not alone in the last level",
        5,
    ),
    (
        "5",
        "82 06 00 01 00 00 00 00",
        "[MQTT5-4.7.3-1]",
        "empty topic filter",
        5,
    ),
    (
        "5",
        "82 0e 00 01 00 00 08 24 73 68 61 72 65 2f 2f 00",
        "[MQTT5-4.8.2-1]",
        "shared subscription without a share name",
        5,
    ),
    (
        "5",
        "e0 01 05",
        "[MQTT5-3.14.2-1]",
        "undefined DISCONNECT reason code",
        2,
    ),
    (
        "5",
        "f0 01 01",
        "[MQTT5-3.15.2-1]",
        "undefined AUTH reason code",
        2,
    ),
    (
        "5",
        "20 03 00 01 00",
        "MQTT5 §3.2.2.2",
        "undefined CONNACK reason code",
        3,
    ),
    (
        "5",
        "20 03 02 00 00",
        "[MQTT5-3.2.2-1]",
        "reserved CONNACK flag bits set",
        2,
    ),
    (
        "5",
        "b0 03 00 01 00",
        "MQTT5 §3.11.3",
        "UNSUBACK without a reason code",
        5,
    ),
    (
        "5",
        "40 03 00 01 05",
        "MQTT5 §3.4.2.1",
        "undefined reason code",
        4,
    ),
];

#[test]
fn malformed_packets_name_error_place_and_clause() {
    assert!(MALFORMED.len() >= 50, "the issue asks for at least 50");
    let mut failures = Vec::new();
    for (v, hex, clause, words, offset) in MALFORMED {
        let (code, out, err) = decode(&["-V", v, hex], "");
        let ok = code == 3
            && out.contains("MALFORMED")
            && out.contains(&format!("  clause: {clause}\n"))
            && out
                .lines()
                .any(|l| l.starts_with("  error:  ") && l.contains(words))
            && out
                .lines()
                .any(|l| l.starts_with(&format!("  where:  byte {offset}, ")));
        if !ok {
            failures.push(format!(
                "-V {v} {hex}: want {clause} / {words} / byte {offset}; exit {code}\n{out}{err}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n----\n"));
}

#[test]
fn stdin_reads_lines_and_packets_in_a_row() {
    // A CONNECT announcing 5.0, then on the next line a PUBACK with a reason code (only valid
    // as 5.0) and a PINGREQ in a row; a comment and a blank line.
    let input =
        "# a session\n10 0d 00 04 4d 51 54 54 05 02 00 3c 00 00 00\n\n40 03 00 01 10 c0 00\n";
    let (code, out, _) = decode(&["-"], input);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("#1 CONNECT, MQTT 5.0"), "{out}");
    assert!(out.contains("#2 PUBACK, MQTT 5.0"), "{out}");
    assert!(out.contains("0x10 No matching subscribers"), "{out}");
    assert!(out.contains("#3 PINGREQ, MQTT 5.0"), "{out}");
    // One malformed packet among good ones sets the exit status.
    let (code, out, _) = decode(&["-"], "c0 00\n38 03 00 01 61\n");
    assert_eq!(code, 3, "{out}");
    assert!(out.contains("#1 PINGREQ, MQTT 3.1.1, client to server, 2 bytes: well-formed"));
}

#[test]
fn bad_input_and_help() {
    let (code, out, err) = decode(&["30 0"], "");
    assert_eq!(code, 2, "{out}");
    assert!(err.contains("odd number of hex digits"), "{err}");
    let (code, _, err) = decode(&["zz"], "");
    assert_eq!(code, 2);
    assert!(err.contains("not a hex digit at character 1"), "{err}");
    let (code, _, err) = decode(&["-"], "# nothing\n");
    assert_eq!(code, 2);
    assert!(err.contains("no hex on stdin"), "{err}");
    // Colons and 0x prefixes are the same bytes.
    let (a, out_a, _) = decode(&["c0:00"], "");
    let (b, out_b, _) = decode(&["0xc0", "0x00"], "");
    assert_eq!((a, b), (0, 0));
    assert_eq!(out_a, out_b);
    let (code, out, _) = decode(&["--help"], "");
    assert_eq!(code, 0);
    assert!(
        out.contains("Exit status: 0 every packet is well formed; 3"),
        "{out}"
    );
    assert!(out.contains("-V, --protocol-version"), "{out}");
}

#[test]
fn long_payload_is_cut_and_says_so() {
    let mut hex = String::from("30 82 01 00 03 61 2f 62");
    for _ in 0..125 {
        hex.push_str(" 41");
    }
    let (code, out, _) = decode(&[&hex], "");
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(cut: first 64 of 125 bytes shown)"), "{out}");
    assert!(out.contains("... 61 more bytes of Payload (cut)"), "{out}");
}

/// The bytes of one proxied connection: (client to server, server to client).
type Recorded = std::sync::Arc<std::sync::Mutex<Vec<(Vec<u8>, Vec<u8>)>>>;

/// A loopback proxy in front of `broker` that records every connection's bytes both ways.
async fn recording_proxy(broker: std::net::SocketAddr) -> (std::net::SocketAddr, Recorded) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let recorded: Recorded = Recorded::default();
    let rec = recorded.clone();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(broker).await else {
                return;
            };
            let idx = {
                let mut r = rec.lock().unwrap();
                r.push((Vec::new(), Vec::new()));
                r.len() - 1
            };
            let (mut cr, mut cw) = client.into_split();
            let (mut sr, mut sw) = server.into_split();
            let rec_up = rec.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                while let Ok(n) = cr.read(&mut buf).await {
                    if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    rec_up.lock().unwrap()[idx].0.extend_from_slice(&buf[..n]);
                }
                let _ = sw.shutdown().await;
            });
            let rec_down = rec.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 4096];
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 || cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    rec_down.lock().unwrap()[idx].1.extend_from_slice(&buf[..n]);
                }
                let _ = cw.shutdown().await;
            });
        }
    });
    (addr, recorded)
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Real traffic: mosquitto_pub publishes a retained QoS 2 message with MQTT 5 properties and
/// mosquitto_sub receives it at QoS 2, through a proxy to our broker. Every byte both ways,
/// split into packets, decodes as well formed, and every packet type of the exchange appears.
#[tokio::test]
async fn real_mosquitto_session_decodes_as_well_formed() {
    if !crate::common::have_mosquitto() {
        return;
    }
    let broker = crate::common::default_broker().await;
    for (v, flag) in [("5", "mqttv5"), ("311", "mqttv311")] {
        let (proxy, recorded) = recording_proxy(broker.addr).await;
        let port = proxy.port().to_string();
        let topic = format!("decode/{v}");
        let mut pub_args = vec![
            "mosquitto_pub",
            "-p",
            &port,
            "-V",
            flag,
            "-q",
            "2",
            "-r",
            "-t",
            &topic,
            "-m",
            "Hello2 mqtt",
            "-u",
            "user",
            "-P",
            "secret",
            "--will-topic",
            "wills",
            "--will-payload",
            "gone",
        ];
        if v == "5" {
            pub_args.extend([
                "-D",
                "publish",
                "message-expiry-interval",
                "60",
                "-D",
                "publish",
                "user-property",
                "k",
                "v",
                "-D",
                "connect",
                "session-expiry-interval",
                "30",
            ]);
        }
        let (ok, _, err) = crate::common::run_tool(&pub_args, 10).await;
        assert!(ok, "mosquitto_pub: {err}");
        let (ok, out, err) = crate::common::run_tool(
            &[
                "mosquitto_sub",
                "-p",
                &port,
                "-V",
                flag,
                "-q",
                "2",
                "-t",
                &topic,
                "-C",
                "1",
                "-W",
                "5",
            ],
            10,
        )
        .await;
        assert!(
            ok && out.contains("Hello2 mqtt"),
            "mosquitto_sub: {out} {err}"
        );
        // Let the proxy see the last packets and the closes.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let conns = recorded.lock().unwrap().clone();
        assert_eq!(conns.len(), 2, "two connections through the proxy");
        let mut seen = String::new();
        for (up, down) in &conns {
            for bytes in [up, down] {
                let (code, out, err) = decode(&["-V", v, "-"], &format!("{}\n", to_hex(bytes)));
                assert_eq!(code, 0, "-V {v}: {err}\n{out}");
                seen.push_str(&out);
            }
        }
        for name in [
            "CONNECT",
            "CONNACK",
            "PUBLISH",
            "PUBREC",
            "PUBREL",
            "PUBCOMP",
            "SUBSCRIBE",
            "SUBACK",
            "DISCONNECT",
        ] {
            let want = format!(" {name}, ");
            assert!(seen.contains(&want), "-V {v}: no {name} in\n{seen}");
        }
        if v == "5" {
            assert!(seen.contains("Message Expiry Interval (0x02)"), "{seen}");
            assert!(seen.contains("\"k\" = \"v\""), "{seen}");
        }
    }
}
