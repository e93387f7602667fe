//! Sparkplug B payloads: the `Payload` message of the Sparkplug specification (Eclipse
//! Sparkplug 3.0, "Sparkplug B Google Protocol Buffer Schema"), declared here with prost's
//! derive from the specification's field list, and its text for the payload pane.
//!
//! Nested messages that only a few devices use (`MetaData`, `PropertySet`, `DataSet`,
//! `Template`) are kept as their encoded bytes: the view names them and their size.

use std::fmt::Write as _;

use prost::Message as _;

/// A Sparkplug B payload (`org.eclipse.tahu.protobuf.Payload`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Payload {
    /// Milliseconds since the Unix epoch when the payload was made.
    #[prost(uint64, optional, tag = "1")]
    pub timestamp: Option<u64>,
    /// The metrics.
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    /// Sequence number, 0 to 255.
    #[prost(uint64, optional, tag = "3")]
    pub seq: Option<u64>,
    /// A UUID describing `body`.
    #[prost(string, optional, tag = "4")]
    pub uuid: Option<String>,
    /// Opaque bytes.
    #[prost(bytes = "vec", optional, tag = "5")]
    pub body: Option<Vec<u8>>,
}

/// One metric of a payload.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Metric {
    /// Metric name (absent when an alias is used after the birth certificate).
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    /// Alias given in the birth certificate.
    #[prost(uint64, optional, tag = "2")]
    pub alias: Option<u64>,
    /// Milliseconds since the Unix epoch of the value.
    #[prost(uint64, optional, tag = "3")]
    pub timestamp: Option<u64>,
    /// The data type (see [`datatype_name`]).
    #[prost(uint32, optional, tag = "4")]
    pub datatype: Option<u32>,
    /// A historical value, not a current one.
    #[prost(bool, optional, tag = "5")]
    pub is_historical: Option<bool>,
    /// Not to be stored.
    #[prost(bool, optional, tag = "6")]
    pub is_transient: Option<bool>,
    /// The value is null.
    #[prost(bool, optional, tag = "7")]
    pub is_null: Option<bool>,
    /// `MetaData`, encoded.
    #[prost(bytes = "vec", optional, tag = "8")]
    pub metadata: Option<Vec<u8>>,
    /// `PropertySet`, encoded.
    #[prost(bytes = "vec", optional, tag = "9")]
    pub properties: Option<Vec<u8>>,
    /// The value.
    #[prost(oneof = "Value", tags = "10, 11, 12, 13, 14, 15, 16, 17, 18, 19")]
    pub value: Option<Value>,
}

/// The value of a metric (one field of the specification's `oneof value`).
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Value {
    /// `int_value`: Int8, Int16, Int32 (two's complement), UInt8, UInt16, UInt32.
    #[prost(uint32, tag = "10")]
    Int(u32),
    /// `long_value`: Int64 (two's complement), UInt64, DateTime.
    #[prost(uint64, tag = "11")]
    Long(u64),
    /// `float_value`.
    #[prost(float, tag = "12")]
    Float(f32),
    /// `double_value`.
    #[prost(double, tag = "13")]
    Double(f64),
    /// `boolean_value`.
    #[prost(bool, tag = "14")]
    Boolean(bool),
    /// `string_value`: String, Text, UUID.
    #[prost(string, tag = "15")]
    String(String),
    /// `bytes_value`: Bytes, File and the array types.
    #[prost(bytes = "vec", tag = "16")]
    Bytes(Vec<u8>),
    /// `dataset_value`, encoded.
    #[prost(bytes = "vec", tag = "17")]
    DataSet(Vec<u8>),
    /// `template_value`, encoded.
    #[prost(bytes = "vec", tag = "18")]
    Template(Vec<u8>),
    /// `extension_value`, encoded.
    #[prost(bytes = "vec", tag = "19")]
    Extension(Vec<u8>),
}

/// The name of a Sparkplug B data type number.
#[must_use]
pub fn datatype_name(t: u32) -> &'static str {
    const NAMES: [&str; 35] = [
        "Unknown",
        "Int8",
        "Int16",
        "Int32",
        "Int64",
        "UInt8",
        "UInt16",
        "UInt32",
        "UInt64",
        "Float",
        "Double",
        "Boolean",
        "String",
        "DateTime",
        "Text",
        "UUID",
        "DataSet",
        "Bytes",
        "File",
        "Template",
        "PropertySet",
        "PropertySetList",
        "Int8Array",
        "Int16Array",
        "Int32Array",
        "Int64Array",
        "UInt8Array",
        "UInt16Array",
        "UInt32Array",
        "UInt64Array",
        "FloatArray",
        "DoubleArray",
        "BooleanArray",
        "StringArray",
        "DateTimeArray",
    ];
    usize::try_from(t)
        .ok()
        .and_then(|i| NAMES.get(i))
        .copied()
        .unwrap_or("Unknown")
}

/// Milliseconds since the epoch as `2026-12-01T02:30:00.000Z`.
fn time_text(ms: u64) -> String {
    i64::try_from(ms)
        .ok()
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map_or_else(
            || format!("{ms} ms"),
            |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        )
}

/// A metric's value as its data type reads it.
#[allow(clippy::cast_possible_wrap)] // Sparkplug stores signed types as two's complement.
fn value_text(v: &Value, datatype: u32) -> String {
    match v {
        Value::Int(i) => match datatype {
            1 => (*i as i8).to_string(),
            2 => (*i as i16).to_string(),
            3 => (*i as i32).to_string(),
            _ => i.to_string(),
        },
        Value::Long(l) => match datatype {
            4 => (*l as i64).to_string(),
            13 => time_text(*l),
            _ => l.to_string(),
        },
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::String(s) => serde_json::Value::String(s.clone()).to_string(),
        Value::Bytes(b) => format!("{} bytes", b.len()),
        Value::DataSet(b) => format!("(DataSet, {} bytes)", b.len()),
        Value::Template(b) => format!("(Template, {} bytes)", b.len()),
        Value::Extension(b) => format!("(extension, {} bytes)", b.len()),
    }
}

/// Decodes a Sparkplug B payload into the lines the payload pane shows.
///
/// # Errors
/// prost's decode error (the payload is not a Sparkplug B `Payload`).
pub fn render(bytes: &[u8]) -> Result<Vec<String>, prost::DecodeError> {
    let p = Payload::decode(bytes)?;
    let mut out = Vec::new();
    if let Some(t) = p.timestamp {
        out.push(format!("timestamp: {} ({t})", time_text(t)));
    }
    if let Some(s) = p.seq {
        out.push(format!("seq: {s}"));
    }
    if let Some(u) = &p.uuid {
        out.push(format!("uuid: {u}"));
    }
    out.push(format!("metrics ({}):", p.metrics.len()));
    for m in &p.metrics {
        let dt = m.datatype.unwrap_or(0);
        let mut line = format!("  {}", m.name.as_deref().unwrap_or("(no name)"));
        if let Some(a) = m.alias {
            let _ = write!(line, " [alias {a}]");
        }
        let _ = write!(line, ": {}", datatype_name(dt));
        if m.is_null == Some(true) {
            line.push_str(" = null");
        } else if let Some(v) = &m.value {
            let _ = write!(line, " = {}", value_text(v, dt));
        }
        let flags: Vec<&str> = [
            (m.is_historical, "historical"),
            (m.is_transient, "transient"),
        ]
        .iter()
        .filter(|(on, _)| *on == Some(true))
        .map(|(_, n)| *n)
        .collect();
        if !flags.is_empty() {
            let _ = write!(line, " ({})", flags.join(", "));
        }
        out.push(line);
        if let Some(t) = m.timestamp {
            out.push(format!("      at {}", time_text(t)));
        }
        for (what, b) in [("metadata", &m.metadata), ("properties", &m.properties)] {
            if let Some(b) = b {
                out.push(format!("      {what}: {} bytes", b.len()));
            }
        }
    }
    if let Some(b) = &p.body {
        out.push(format!("body: {} bytes", b.len()));
    }
    Ok(out)
}

/// A node's data message as an edge node would publish it (for tests and snapshots).
#[cfg(test)]
#[must_use]
pub fn tests_sample() -> Vec<u8> {
    tests::sample()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(name: &str, datatype: u32, value: Value) -> Metric {
        Metric {
            name: Some(name.into()),
            datatype: Some(datatype),
            value: Some(value),
            ..Metric::default()
        }
    }

    pub(crate) fn sample() -> Vec<u8> {
        Payload {
            timestamp: Some(1_764_556_200_000),
            seq: Some(7),
            metrics: vec![
                Metric {
                    alias: Some(3),
                    timestamp: Some(1_764_556_199_500),
                    ..metric("Line/Temperature", 10, Value::Double(21.5))
                },
                metric("Line/Offset", 3, Value::Int((-12i32).cast_unsigned())),
                metric("Line/Running", 11, Value::Boolean(true)),
                metric("Line/Label", 12, Value::String("press \"A\"".into())),
                metric("Line/Count", 4, Value::Long((-5i64).cast_unsigned())),
                Metric {
                    is_null: Some(true),
                    ..metric("Line/Fault", 12, Value::String(String::new()))
                },
            ],
            ..Payload::default()
        }
        .encode_to_vec()
    }

    #[test]
    fn known_values_round_trip_through_prost() {
        let bytes = sample();
        let p = Payload::decode(bytes.as_slice()).unwrap();
        assert_eq!(p.seq, Some(7));
        assert_eq!(p.metrics.len(), 6);
        assert_eq!(p.metrics[0].value, Some(Value::Double(21.5)));
        let lines = render(&bytes).unwrap();
        assert_eq!(
            lines,
            [
                "timestamp: 2025-12-01T02:30:00.000Z (1764556200000)",
                "seq: 7",
                "metrics (6):",
                "  Line/Temperature [alias 3]: Double = 21.5",
                "      at 2025-12-01T02:29:59.500Z",
                "  Line/Offset: Int32 = -12",
                "  Line/Running: Boolean = true",
                "  Line/Label: String = \"press \\\"A\\\"\"",
                "  Line/Count: Int64 = -5",
                "  Line/Fault: String = null",
            ]
        );
    }

    #[test]
    fn bytes_that_are_not_a_payload_are_an_error() {
        // Field 2 (metrics) says 5 bytes follow, and only 1 does.
        assert!(render(&[0x12, 0x05, 0x01]).is_err());
        assert!(datatype_name(99) == "Unknown" && datatype_name(13) == "DateTime");
    }
}
