//! MQTT 5 properties (§2.2.2): one struct for every packet, with per-packet allow lists.

use bytes::{BufMut, Bytes, BytesMut};

use super::DecodeError;
use super::encode::{put_binary, put_str, put_varint, varint_len};
use super::reader::Reader;

/// Property identifiers (MQTT 5 §2.2.2.2).
pub mod id {
    /// Payload Format Indicator (byte).
    pub const PAYLOAD_FORMAT: u8 = 0x01;
    /// Message Expiry Interval (four byte integer).
    pub const MESSAGE_EXPIRY: u8 = 0x02;
    /// Content Type (string).
    pub const CONTENT_TYPE: u8 = 0x03;
    /// Response Topic (string).
    pub const RESPONSE_TOPIC: u8 = 0x08;
    /// Correlation Data (binary).
    pub const CORRELATION_DATA: u8 = 0x09;
    /// Subscription Identifier (variable byte integer).
    pub const SUBSCRIPTION_ID: u8 = 0x0B;
    /// Session Expiry Interval (four byte integer).
    pub const SESSION_EXPIRY: u8 = 0x11;
    /// Assigned Client Identifier (string).
    pub const ASSIGNED_CLIENT_ID: u8 = 0x12;
    /// Server Keep Alive (two byte integer).
    pub const SERVER_KEEP_ALIVE: u8 = 0x13;
    /// Authentication Method (string).
    pub const AUTH_METHOD: u8 = 0x15;
    /// Authentication Data (binary).
    pub const AUTH_DATA: u8 = 0x16;
    /// Request Problem Information (byte).
    pub const REQUEST_PROBLEM_INFO: u8 = 0x17;
    /// Will Delay Interval (four byte integer).
    pub const WILL_DELAY: u8 = 0x18;
    /// Request Response Information (byte).
    pub const REQUEST_RESPONSE_INFO: u8 = 0x19;
    /// Response Information (string).
    pub const RESPONSE_INFO: u8 = 0x1A;
    /// Server Reference (string).
    pub const SERVER_REFERENCE: u8 = 0x1C;
    /// Reason String (string).
    pub const REASON_STRING: u8 = 0x1F;
    /// Receive Maximum (two byte integer).
    pub const RECEIVE_MAXIMUM: u8 = 0x21;
    /// Topic Alias Maximum (two byte integer).
    pub const TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
    /// Topic Alias (two byte integer).
    pub const TOPIC_ALIAS: u8 = 0x23;
    /// Maximum QoS (byte).
    pub const MAXIMUM_QOS: u8 = 0x24;
    /// Retain Available (byte).
    pub const RETAIN_AVAILABLE: u8 = 0x25;
    /// User Property (string pair).
    pub const USER_PROPERTY: u8 = 0x26;
    /// Maximum Packet Size (four byte integer).
    pub const MAXIMUM_PACKET_SIZE: u8 = 0x27;
    /// Wildcard Subscription Available (byte).
    pub const WILDCARD_AVAILABLE: u8 = 0x28;
    /// Subscription Identifier Available (byte).
    pub const SUBSCRIPTION_ID_AVAILABLE: u8 = 0x29;
    /// Shared Subscription Available (byte).
    pub const SHARED_AVAILABLE: u8 = 0x2A;
}

/// Which packet a property list belongs to; decides the allow list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyContext {
    /// CONNECT's own properties.
    Connect,
    /// The will properties inside CONNECT.
    Will,
    /// PUBLISH.
    Publish,
    /// PUBACK, PUBREC, PUBREL, PUBCOMP.
    Ack,
    /// SUBSCRIBE.
    Subscribe,
    /// UNSUBSCRIBE.
    Unsubscribe,
    /// DISCONNECT.
    Disconnect,
    /// AUTH.
    Auth,
}

impl PropertyContext {
    fn allows(self, pid: u8) -> bool {
        use id::*;
        if pid == USER_PROPERTY {
            return true;
        }
        match self {
            Self::Connect => matches!(
                pid,
                SESSION_EXPIRY
                    | AUTH_METHOD
                    | AUTH_DATA
                    | REQUEST_PROBLEM_INFO
                    | REQUEST_RESPONSE_INFO
                    | RECEIVE_MAXIMUM
                    | TOPIC_ALIAS_MAXIMUM
                    | MAXIMUM_PACKET_SIZE
            ),
            Self::Will => matches!(
                pid,
                PAYLOAD_FORMAT
                    | MESSAGE_EXPIRY
                    | CONTENT_TYPE
                    | RESPONSE_TOPIC
                    | CORRELATION_DATA
                    | WILL_DELAY
            ),
            // A client never sends a Subscription Identifier in PUBLISH [MQTT5-3.3.4-6].
            Self::Publish => matches!(
                pid,
                PAYLOAD_FORMAT
                    | MESSAGE_EXPIRY
                    | CONTENT_TYPE
                    | RESPONSE_TOPIC
                    | CORRELATION_DATA
                    | TOPIC_ALIAS
            ),
            Self::Ack => pid == REASON_STRING,
            Self::Subscribe => pid == SUBSCRIPTION_ID,
            Self::Unsubscribe => false,
            Self::Disconnect => matches!(pid, SESSION_EXPIRY | REASON_STRING | SERVER_REFERENCE),
            Self::Auth => matches!(pid, AUTH_METHOD | AUTH_DATA | REASON_STRING),
        }
    }
}

/// Every MQTT 5 property, each optional. Unused fields cost nothing on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    /// Payload Format Indicator: 1 = UTF-8 text.
    pub payload_format: Option<u8>,
    /// Message Expiry Interval in seconds.
    pub message_expiry: Option<u32>,
    /// Content Type.
    pub content_type: Option<String>,
    /// Response Topic.
    pub response_topic: Option<String>,
    /// Correlation Data.
    pub correlation_data: Option<Bytes>,
    /// Subscription Identifiers (several on an outgoing PUBLISH, one on SUBSCRIBE).
    pub subscription_ids: Vec<u32>,
    /// Session Expiry Interval in seconds.
    pub session_expiry: Option<u32>,
    /// Assigned Client Identifier.
    pub assigned_client_id: Option<String>,
    /// Server Keep Alive in seconds.
    pub server_keep_alive: Option<u16>,
    /// Authentication Method.
    pub auth_method: Option<String>,
    /// Authentication Data.
    pub auth_data: Option<Bytes>,
    /// Request Problem Information.
    pub request_problem_info: Option<u8>,
    /// Will Delay Interval in seconds.
    pub will_delay: Option<u32>,
    /// Request Response Information.
    pub request_response_info: Option<u8>,
    /// Response Information.
    pub response_info: Option<String>,
    /// Server Reference.
    pub server_reference: Option<String>,
    /// Reason String.
    pub reason_string: Option<String>,
    /// Receive Maximum.
    pub receive_maximum: Option<u16>,
    /// Topic Alias Maximum.
    pub topic_alias_maximum: Option<u16>,
    /// Topic Alias.
    pub topic_alias: Option<u16>,
    /// Maximum QoS.
    pub maximum_qos: Option<u8>,
    /// Retain Available.
    pub retain_available: Option<u8>,
    /// User Properties, in the order they were sent [MQTT5-3.3.2-18].
    pub user_properties: Vec<(String, String)>,
    /// Maximum Packet Size.
    pub maximum_packet_size: Option<u32>,
    /// Wildcard Subscription Available.
    pub wildcard_available: Option<u8>,
    /// Subscription Identifier Available.
    pub subscription_ids_available: Option<u8>,
    /// Shared Subscription Available.
    pub shared_available: Option<u8>,
}

fn set_once<T>(slot: &mut Option<T>, v: T) -> Result<(), DecodeError> {
    if slot.is_some() {
        // §2.2.2.2: including a property more than once is a Protocol Error.
        return Err(DecodeError::Protocol("property included more than once"));
    }
    *slot = Some(v);
    Ok(())
}

fn bool_byte(r: &mut Reader) -> Result<u8, DecodeError> {
    let b = r.u8()?;
    if b > 1 {
        return Err(DecodeError::Protocol("property value must be 0 or 1"));
    }
    Ok(b)
}

impl Properties {
    /// Reads a property list (length, then properties) for the given packet.
    pub fn read(r: &mut Reader, ctx: PropertyContext) -> Result<Self, DecodeError> {
        let len = r.varint()? as usize;
        let mut body = Reader::new(r.take(len)?);
        let mut p = Self::default();
        while body.remaining() > 0 {
            let pid = u8::try_from(body.varint()?)
                .map_err(|_| DecodeError::Malformed("unknown property identifier"))?;
            // MQTT5 §2.2.2.2: an identifier not valid for the packet type makes it a Malformed
            // Packet (a duplicated one is a Protocol Error, below).
            if matches!(ctx, PropertyContext::Publish) && pid == id::SUBSCRIPTION_ID {
                // A Subscription Identifier is valid in PUBLISH, but a client never sends one
                // [MQTT5-3.3.4-6]: a Protocol Error, not a Malformed Packet.
                return Err(DecodeError::Protocol(
                    "subscription identifier from a client",
                ));
            }
            if !ctx.allows(pid) {
                return Err(DecodeError::Malformed(
                    "property not allowed in this packet",
                ));
            }
            p.read_one(pid, &mut body)?;
        }
        Ok(p)
    }

    fn read_one(&mut self, pid: u8, r: &mut Reader) -> Result<(), DecodeError> {
        use id::*;
        match pid {
            PAYLOAD_FORMAT => set_once(&mut self.payload_format, bool_byte(r)?),
            MESSAGE_EXPIRY => set_once(&mut self.message_expiry, r.u32()?),
            CONTENT_TYPE => set_once(&mut self.content_type, r.string()?),
            RESPONSE_TOPIC => {
                let t = r.string()?;
                // [MQTT5-3.3.2-14]: a Response Topic is a topic name, without wildcards.
                if t.is_empty() || t.contains(['+', '#']) {
                    return Err(DecodeError::Protocol(
                        "response topic must be a valid topic name",
                    ));
                }
                set_once(&mut self.response_topic, t)
            }
            CORRELATION_DATA => set_once(&mut self.correlation_data, r.binary()?),
            SUBSCRIPTION_ID => {
                let v = r.varint()?;
                if v == 0 {
                    return Err(DecodeError::Protocol("subscription identifier 0"));
                }
                if !self.subscription_ids.is_empty() {
                    return Err(DecodeError::Protocol("property included more than once"));
                }
                self.subscription_ids.push(v);
                Ok(())
            }
            SESSION_EXPIRY => set_once(&mut self.session_expiry, r.u32()?),
            AUTH_METHOD => set_once(&mut self.auth_method, r.string()?),
            AUTH_DATA => set_once(&mut self.auth_data, r.binary()?),
            REQUEST_PROBLEM_INFO => set_once(&mut self.request_problem_info, bool_byte(r)?),
            WILL_DELAY => set_once(&mut self.will_delay, r.u32()?),
            REQUEST_RESPONSE_INFO => set_once(&mut self.request_response_info, bool_byte(r)?),
            REASON_STRING => set_once(&mut self.reason_string, r.string()?),
            SERVER_REFERENCE => set_once(&mut self.server_reference, r.string()?),
            RECEIVE_MAXIMUM => {
                let v = r.u16()?;
                if v == 0 {
                    return Err(DecodeError::Protocol("receive maximum of 0"));
                }
                set_once(&mut self.receive_maximum, v)
            }
            TOPIC_ALIAS_MAXIMUM => set_once(&mut self.topic_alias_maximum, r.u16()?),
            TOPIC_ALIAS => set_once(&mut self.topic_alias, r.u16()?),
            USER_PROPERTY => {
                let k = r.string()?;
                let v = r.string()?;
                self.user_properties.push((k, v));
                Ok(())
            }
            MAXIMUM_PACKET_SIZE => {
                let v = r.u32()?;
                if v == 0 {
                    return Err(DecodeError::Protocol("maximum packet size of 0"));
                }
                set_once(&mut self.maximum_packet_size, v)
            }
            _ => Err(DecodeError::Malformed(
                "property not allowed in this packet",
            )),
        }
    }

    /// The encoded length of the property list, without its own length prefix.
    #[must_use]
    pub fn len(&self) -> usize {
        let s = |o: &Option<String>| o.as_ref().map_or(0, |s| 3 + s.len());
        let b = |o: &Option<Bytes>| o.as_ref().map_or(0, |s| 3 + s.len());
        let n1 = |o: Option<u8>| if o.is_some() { 2 } else { 0 };
        let n2 = |o: Option<u16>| if o.is_some() { 3 } else { 0 };
        let n4 = |o: Option<u32>| if o.is_some() { 5 } else { 0 };
        n1(self.payload_format)
            + n4(self.message_expiry)
            + s(&self.content_type)
            + s(&self.response_topic)
            + b(&self.correlation_data)
            + self
                .subscription_ids
                .iter()
                .map(|&v| 1 + varint_len(v))
                .sum::<usize>()
            + n4(self.session_expiry)
            + s(&self.assigned_client_id)
            + n2(self.server_keep_alive)
            + s(&self.auth_method)
            + b(&self.auth_data)
            + n1(self.request_problem_info)
            + n4(self.will_delay)
            + n1(self.request_response_info)
            + s(&self.response_info)
            + s(&self.server_reference)
            + s(&self.reason_string)
            + n2(self.receive_maximum)
            + n2(self.topic_alias_maximum)
            + n2(self.topic_alias)
            + n1(self.maximum_qos)
            + n1(self.retain_available)
            + self
                .user_properties
                .iter()
                .map(|(k, v)| 5 + k.len() + v.len())
                .sum::<usize>()
            + n4(self.maximum_packet_size)
            + n1(self.wildcard_available)
            + n1(self.subscription_ids_available)
            + n1(self.shared_available)
    }

    /// True when no property is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the property list with its length prefix.
    pub fn write(&self, out: &mut BytesMut) {
        use id::*;
        // The length is a variable byte integer; property lists are far below its limit.
        put_varint(out, u32::try_from(self.len()).unwrap_or(u32::MAX));
        let n1 = |out: &mut BytesMut, pid: u8, v: Option<u8>| {
            if let Some(v) = v {
                out.put_u8(pid);
                out.put_u8(v);
            }
        };
        n1(out, PAYLOAD_FORMAT, self.payload_format);
        if let Some(v) = self.message_expiry {
            out.put_u8(MESSAGE_EXPIRY);
            out.put_u32(v);
        }
        let strs = [
            (CONTENT_TYPE, &self.content_type),
            (RESPONSE_TOPIC, &self.response_topic),
        ];
        for (pid, v) in strs {
            if let Some(v) = v {
                out.put_u8(pid);
                put_str(out, v);
            }
        }
        if let Some(v) = &self.correlation_data {
            out.put_u8(CORRELATION_DATA);
            put_binary(out, v);
        }
        for &v in &self.subscription_ids {
            out.put_u8(SUBSCRIPTION_ID);
            put_varint(out, v);
        }
        if let Some(v) = self.session_expiry {
            out.put_u8(SESSION_EXPIRY);
            out.put_u32(v);
        }
        if let Some(v) = &self.assigned_client_id {
            out.put_u8(ASSIGNED_CLIENT_ID);
            put_str(out, v);
        }
        if let Some(v) = self.server_keep_alive {
            out.put_u8(SERVER_KEEP_ALIVE);
            out.put_u16(v);
        }
        if let Some(v) = &self.auth_method {
            out.put_u8(AUTH_METHOD);
            put_str(out, v);
        }
        if let Some(v) = &self.auth_data {
            out.put_u8(AUTH_DATA);
            put_binary(out, v);
        }
        n1(out, REQUEST_PROBLEM_INFO, self.request_problem_info);
        if let Some(v) = self.will_delay {
            out.put_u8(WILL_DELAY);
            out.put_u32(v);
        }
        n1(out, REQUEST_RESPONSE_INFO, self.request_response_info);
        let strs = [
            (RESPONSE_INFO, &self.response_info),
            (SERVER_REFERENCE, &self.server_reference),
            (REASON_STRING, &self.reason_string),
        ];
        for (pid, v) in strs {
            if let Some(v) = v {
                out.put_u8(pid);
                put_str(out, v);
            }
        }
        for (pid, v) in [
            (RECEIVE_MAXIMUM, self.receive_maximum),
            (TOPIC_ALIAS_MAXIMUM, self.topic_alias_maximum),
            (TOPIC_ALIAS, self.topic_alias),
        ] {
            if let Some(v) = v {
                out.put_u8(pid);
                out.put_u16(v);
            }
        }
        n1(out, MAXIMUM_QOS, self.maximum_qos);
        n1(out, RETAIN_AVAILABLE, self.retain_available);
        for (k, v) in &self.user_properties {
            out.put_u8(USER_PROPERTY);
            put_str(out, k);
            put_str(out, v);
        }
        if let Some(v) = self.maximum_packet_size {
            out.put_u8(MAXIMUM_PACKET_SIZE);
            out.put_u32(v);
        }
        n1(out, WILDCARD_AVAILABLE, self.wildcard_available);
        n1(
            out,
            SUBSCRIPTION_ID_AVAILABLE,
            self.subscription_ids_available,
        );
        n1(out, SHARED_AVAILABLE, self.shared_available);
    }
}
