//! `mqtt-workbench decode`: look inside MQTT packets given as hex. Prints each packet's field
//! table, its byte map and a plain-language note; malformed bytes get the precise error, where
//! it is, and the clause it breaks.

use std::io::Read;
use std::process::ExitCode;

use clap::Args;

use crate::inspect::{self, render};
use crate::protocol::ProtocolVersion;

/// Exit status when every packet is well formed.
pub const EXIT_OK: u8 = 0;
/// Exit status when the input is not hex (or is empty, or stdin cannot be read).
pub const EXIT_BAD_INPUT: u8 = 2;
/// Exit status when at least one packet is malformed.
pub const EXIT_MALFORMED: u8 = 3;

/// Options of `decode`.
#[derive(Debug, Clone, Args)]
#[command(after_help = "\
Input: hex digits; spaces, colons, dashes and a leading 0x are ignored, so \
`30 05 00 01 61 68 69`, `30:05:00:01:61:68:69` and `3005000161 6869` are the same packet. \
Several packets may follow each other; with `-`, each line of stdin is read on its own (lines \
starting with # are comments).

Each packet is read as the -V version until a CONNECT comes: a CONNECT announces its version, \
which then applies to the packets after it. For packets a client sends, the verdict is the \
broker's own decoder: what it refuses is reported with its words.

Exit status: 0 every packet is well formed; 3 at least one packet is malformed; 2 the input \
is not hex, is empty or cannot be read (and for usage errors).

Example: mqtt-workbench decode 32 0f 00 04 6d 71 74 74 00 01 48 65 6c 6c 6f 32 20")]
pub struct DecodeArgs {
    /// MQTT version of the packets before any CONNECT: 31, 311 or 5 (3.1, 3.1.1, 5.0).
    #[arg(short = 'V', long = "protocol-version", value_name = "VERSION",
          default_value = "311", value_parser = parse_version)]
    pub version: ProtocolVersion,
    /// The packet bytes as hex (several arguments are joined), or `-` to read hex from stdin.
    #[arg(value_name = "HEX|-", required = true, num_args = 1..)]
    pub hex: Vec<String>,
    /// Print help.
    #[arg(short = 'h', long = "help", action = clap::ArgAction::Help)]
    help: Option<bool>,
}

/// Parses `-V`: `31`, `311`, `5`, also written `3.1`, `3.1.1`, `5.0`, `mqttv311`, ...
pub fn parse_version(s: &str) -> Result<ProtocolVersion, String> {
    let t = s.trim().to_ascii_lowercase();
    let t = t.strip_prefix("mqttv").unwrap_or(&t).replace('.', "");
    match t.as_str() {
        "31" => Ok(ProtocolVersion::V31),
        "311" | "4" => Ok(ProtocolVersion::V311),
        "5" | "50" => Ok(ProtocolVersion::V5),
        _ => Err(format!("unknown MQTT version {s:?}: use 31, 311 or 5")),
    }
}

/// Turns hex text into bytes, ignoring spaces, colons, dashes and `0x` prefixes.
pub fn parse_hex(text: &str) -> Result<Vec<u8>, String> {
    let mut digits = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '0' && matches!(chars.peek(), Some((_, 'x' | 'X'))) {
            // A `0x` prefix, only at the start of a group.
            let at_group_start = text[..i]
                .chars()
                .next_back()
                .is_none_or(|p| p.is_whitespace() || p == ':' || p == '-' || p == ',');
            if at_group_start {
                chars.next();
                continue;
            }
        }
        match c {
            c if c.is_whitespace() || c == ':' || c == '-' || c == ',' => {}
            c if c.is_ascii_hexdigit() => digits.push(c as u8),
            c => return Err(format!("not a hex digit at character {}: {c:?}", i + 1)),
        }
    }
    if digits.len() % 2 == 1 {
        return Err(format!(
            "odd number of hex digits ({}): every byte needs two",
            digits.len()
        ));
    }
    digits
        .chunks(2)
        .map(|p| {
            let s = std::str::from_utf8(p).map_err(|e| e.to_string())?;
            u8::from_str_radix(s, 16).map_err(|e| e.to_string())
        })
        .collect()
}

/// The chunks to inspect: the joined arguments, or each non-comment line of `stdin`.
fn chunks(args: &DecodeArgs, stdin: &mut dyn Read) -> Result<Vec<Vec<u8>>, String> {
    if args.hex.len() == 1 && args.hex[0] == "-" {
        let mut text = String::new();
        stdin
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            out.push(parse_hex(line).map_err(|e| format!("stdin line {}: {e}", n + 1))?);
        }
        if out.is_empty() {
            return Err("no hex on stdin".to_owned());
        }
        Ok(out)
    } else {
        let bytes = parse_hex(&args.hex.join(" "))?;
        if bytes.is_empty() {
            return Err("no bytes given".to_owned());
        }
        Ok(vec![bytes])
    }
}

/// Decodes and renders everything; returns the text and the exit status.
pub fn decode_to_string(args: &DecodeArgs, stdin: &mut dyn Read) -> (String, u8) {
    let chunks = match chunks(args, stdin) {
        Ok(c) => c,
        Err(e) => return (format!("Error: {e}\n"), EXIT_BAD_INPUT),
    };
    let mut out = String::new();
    let mut status = EXIT_OK;
    let mut n = 0;
    let mut version = args.version;
    for chunk in chunks {
        for i in inspect::inspect_stream(&chunk, version) {
            if i.packet_type == crate::protocol::packet_type::CONNECT && i.is_well_formed() {
                version = i.version;
            }
            n += 1;
            if n > 1 {
                out.push_str("\n\n");
            }
            out.push_str(&format!("#{n} "));
            out.push_str(&render::render(&i));
            if !i.is_well_formed() {
                status = EXIT_MALFORMED;
            }
        }
    }
    (out, status)
}

/// Runs `decode`.
pub fn run(args: &DecodeArgs) -> ExitCode {
    let (text, status) = decode_to_string(args, &mut std::io::stdin().lock());
    if status == EXIT_BAD_INPUT {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    ExitCode::from(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_forms() {
        let want = Ok(vec![0x30, 0x05, 0xAB]);
        assert_eq!(parse_hex("30 05 ab"), want);
        assert_eq!(parse_hex("30:05:AB"), want);
        assert_eq!(parse_hex("0x30 0x05 0xab"), want);
        assert_eq!(parse_hex("3005ab\n"), want);
        assert!(parse_hex("30 0").is_err());
        assert!(parse_hex("zz").is_err());
    }

    #[test]
    fn versions() {
        assert_eq!(parse_version("5"), Ok(ProtocolVersion::V5));
        assert_eq!(parse_version("3.1.1"), Ok(ProtocolVersion::V311));
        assert_eq!(parse_version("mqttv31"), Ok(ProtocolVersion::V31));
        assert!(parse_version("6").is_err());
    }
}
