//! Frame splitting and strict decoding of client-to-server packets.

use std::sync::Arc;

use bytes::{Buf, BytesMut};

use super::packet::{
    Ack, Auth, Connect, Disconnect, Packet, Publish, RetainHandling, Subscribe,
    SubscriptionOptions, Unsubscribe, Will,
};
use super::packet_type as pt;
use super::properties::PropertyContext;
use super::reader::{Reader, read_varint};
use super::{DecodeError, Properties, ProtocolVersion, QoS, ReasonCode};

/// The largest CONNECT accepted before the client is known (mosquitto uses the same cap). It
/// keeps an unauthenticated peer from making the server buffer a huge first packet.
pub const MAX_CONNECT_SIZE: usize = 100_000;

/// The largest packet MQTT can express: 268,435,455 bytes of body plus five of header.
pub const MQTT_MAX_PACKET_SIZE: usize = 268_435_460;

/// Splits a byte stream into packets and decodes them, remembering the protocol version that
/// the CONNECT packet announced.
#[derive(Debug, Clone)]
pub struct Decoder {
    /// Set once CONNECT has been decoded.
    pub version: Option<ProtocolVersion>,
    /// The largest whole packet accepted after CONNECT, in bytes.
    pub max_packet_size: usize,
    /// The last PUBLISH topic: a client that publishes to the same topic again and again
    /// shares one allocation.
    last_topic: Option<Arc<str>>,
}

impl Decoder {
    /// A decoder that accepts packets of up to `max_packet_size` bytes (0 = the MQTT maximum).
    #[must_use]
    pub fn new(max_packet_size: usize) -> Self {
        let max_packet_size = if max_packet_size == 0 {
            MQTT_MAX_PACKET_SIZE
        } else {
            max_packet_size
        };
        Self {
            version: None,
            max_packet_size,
            last_topic: None,
        }
    }

    /// Decodes the next complete packet from the front of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed. The size limit is checked as soon as the
    /// fixed header is complete, before the body is buffered, so a peer that declares a huge
    /// length is refused without the server allocating for it.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        let kind = first >> 4;
        let flags = first & 0x0F;
        // Reject an impossible first byte before waiting for more bytes.
        self.check_type(kind, flags)?;
        let Some((remaining, len_bytes)) = read_varint(&buf[1..])? else {
            return Ok(None);
        };
        let remaining = remaining as usize;
        let total = 1 + len_bytes + remaining;
        let max = if self.version.is_none() {
            self.max_packet_size.min(MAX_CONNECT_SIZE)
        } else {
            self.max_packet_size
        };
        if total > max {
            return Err(DecodeError::TooLarge { size: total, max });
        }
        if buf.len() < total {
            return Ok(None);
        }
        buf.advance(1 + len_bytes);
        let body = buf.split_to(remaining).freeze();
        let mut r = Reader::new(body);
        let packet = match kind {
            pt::CONNECT => {
                let c = read_connect(&mut r)?;
                self.version = Some(c.version);
                Packet::Connect(Box::new(c))
            }
            pt::PUBLISH => {
                let v5 = self.v5();
                Packet::Publish(read_publish(&mut r, flags, v5, &mut self.last_topic)?)
            }
            pt::PUBACK => Packet::PubAck(read_ack(&mut r, self.v5())?),
            pt::PUBREC => Packet::PubRec(read_ack(&mut r, self.v5())?),
            pt::PUBREL => Packet::PubRel(read_ack(&mut r, self.v5())?),
            pt::PUBCOMP => Packet::PubComp(read_ack(&mut r, self.v5())?),
            pt::SUBSCRIBE => Packet::Subscribe(Box::new(read_subscribe(&mut r, self.v5())?)),
            pt::UNSUBSCRIBE => Packet::Unsubscribe(Box::new(read_unsubscribe(&mut r, self.v5())?)),
            pt::PINGREQ => {
                // [MQTT311 §3.12] [MQTT5 §3.12] PINGREQ has no body.
                r.finish()?;
                Packet::PingReq
            }
            pt::DISCONNECT => Packet::Disconnect(Box::new(read_disconnect(&mut r, self.v5())?)),
            pt::AUTH => Packet::Auth(Box::new(read_auth(&mut r)?)),
            _ => return Err(DecodeError::Malformed("unexpected packet type")),
        };
        Ok(Some(packet))
    }

    fn v5(&self) -> bool {
        self.version == Some(ProtocolVersion::V5)
    }

    /// Validates the packet type and the fixed header flags (§2.2.2 table 2.2).
    fn check_type(&self, kind: u8, flags: u8) -> Result<(), DecodeError> {
        match (self.version, kind) {
            // [MQTT311-3.1.0-1] [MQTT5-3.1.0-1] the first packet must be CONNECT.
            (None, pt::CONNECT) => {}
            (None, _) => return Err(DecodeError::Protocol("first packet is not CONNECT")),
            // [MQTT311-3.1.0-2] [MQTT5-3.1.0-2] a second CONNECT is a protocol violation.
            (Some(_), pt::CONNECT) => return Err(DecodeError::Protocol("second CONNECT")),
            (Some(v), pt::AUTH) if v != ProtocolVersion::V5 => {
                return Err(DecodeError::Malformed("reserved packet type 15"));
            }
            (Some(_), pt::PUBLISH..=pt::PUBCOMP | pt::SUBSCRIBE | pt::UNSUBSCRIBE)
            | (Some(_), pt::PINGREQ | pt::DISCONNECT | pt::AUTH) => {}
            (Some(_), 0) => return Err(DecodeError::Malformed("reserved packet type 0")),
            // CONNACK, SUBACK, UNSUBACK and PINGRESP only travel from server to client.
            (Some(_), _) => {
                return Err(DecodeError::Protocol(
                    "server-to-client packet sent by a client",
                ));
            }
        }
        let expected = match kind {
            pt::PUBLISH => return Ok(()),
            // [MQTT311-3.6.1-1], [MQTT311-3.8.1-1], [MQTT311-3.10.1-1] / [MQTT5-3.6.1-1], [MQTT5-3.8.1-1], [MQTT5-3.10.1-1].
            pt::PUBREL | pt::SUBSCRIBE | pt::UNSUBSCRIBE => 0x2,
            _ => 0x0,
        };
        if flags != expected {
            // [MQTT311-2.2.2-2] [MQTT5-2.1.3-1]: invalid flags mean a malformed packet.
            return Err(DecodeError::Malformed("invalid fixed header flags"));
        }
        Ok(())
    }
}

fn read_connect(r: &mut Reader) -> Result<Connect, DecodeError> {
    let name = r.string()?;
    let level = r.u8()?;
    let version = match (name.as_str(), level) {
        ("MQTT", 4) => ProtocolVersion::V311,
        ("MQTT", 5) => ProtocolVersion::V5,
        ("MQIsdp", 3) => ProtocolVersion::V31,
        // [MQTT311-3.1.2-2] [MQTT5-3.1.2-2]: a known name with an unknown level gets CONNACK 0x01 / 0x84.
        ("MQTT" | "MQIsdp", _) => return Err(DecodeError::UnsupportedVersion { name, level }),
        // [MQTT311-3.1.2-1] [MQTT5-3.1.2-1]: any other protocol name may be closed without CONNACK.
        _ => return Err(DecodeError::Protocol("unknown protocol name")),
    };
    let v5 = version == ProtocolVersion::V5;
    let flags = r.u8()?;
    if flags & 0x01 != 0 {
        // [MQTT311-3.1.2-3] [MQTT5-3.1.2-3]
        return Err(DecodeError::Malformed("reserved CONNECT flag is set"));
    }
    let clean_start = flags & 0x02 != 0;
    let will_flag = flags & 0x04 != 0;
    let will_qos_bits = (flags >> 3) & 0x03;
    let will_retain = flags & 0x20 != 0;
    let password_flag = flags & 0x40 != 0;
    let username_flag = flags & 0x80 != 0;
    if !will_flag && (will_qos_bits != 0 || will_retain) {
        // [MQTT311-3.1.2-11], [MQTT311-3.1.2-13], [MQTT311-3.1.2-15] / [MQTT5-3.1.2-11], [MQTT5-3.1.2-13]
        return Err(DecodeError::Malformed(
            "will QoS or retain set without a will",
        ));
    }
    let will_qos = QoS::from_u8(will_qos_bits).ok_or(DecodeError::Malformed("will QoS 3"))?; // [MQTT311-3.1.2-14] [MQTT5-3.1.2-12]
    if !v5 && password_flag && !username_flag {
        // [MQTT311-3.1.2-22]
        return Err(DecodeError::Malformed("password without a user name"));
    }
    let keep_alive = r.u16()?;
    let properties = if v5 {
        Properties::read(r, PropertyContext::Connect)?
    } else {
        Properties::default()
    };
    if properties.auth_data.is_some() && properties.auth_method.is_none() {
        // MQTT5 §3.1.2.11.10: Authentication Data without an Authentication Method is a
        // Protocol Error.
        return Err(DecodeError::Protocol(
            "authentication data without a method",
        ));
    }
    let client_id = r.string()?;
    let will = if will_flag {
        let properties = if v5 {
            Properties::read(r, PropertyContext::Will)?
        } else {
            Properties::default()
        };
        let topic = r.string()?;
        check_topic_name(&topic)?;
        let payload = r.binary()?;
        Some(Will {
            topic,
            payload,
            qos: will_qos,
            retain: will_retain,
            properties,
        })
    } else {
        None
    };
    let username = if username_flag {
        Some(r.string()?)
    } else {
        None
    };
    let password = if password_flag {
        Some(r.binary()?)
    } else {
        None
    };
    r.finish()?;
    Ok(Connect {
        version,
        clean_start,
        keep_alive,
        client_id,
        will,
        username,
        password,
        properties,
    })
}

/// Checks a topic name for PUBLISH or a will: at least one character [MQTT311-4.7.3-1] [MQTT5-4.7.3-1] and no
/// wildcard characters [MQTT311-3.3.2-2] [MQTT5-3.3.2-2].
pub fn check_topic_name(topic: &str) -> Result<(), DecodeError> {
    if topic.is_empty() {
        return Err(DecodeError::TopicName("empty topic name"));
    }
    if topic.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(DecodeError::TopicName("wildcard in a topic name"));
    }
    Ok(())
}

fn read_publish(
    r: &mut Reader,
    flags: u8,
    v5: bool,
    cache: &mut Option<Arc<str>>,
) -> Result<Publish, DecodeError> {
    let dup = flags & 0x08 != 0;
    let qos =
        QoS::from_u8((flags >> 1) & 0x03).ok_or(DecodeError::Malformed("PUBLISH with QoS 3"))?; // [MQTT311-3.3.1-4] [MQTT5-3.3.1-4]
    let retain = flags & 0x01 != 0;
    if dup && qos == QoS::AtMostOnce {
        // [MQTT311-3.3.1-2] [MQTT5-3.3.1-2]
        return Err(DecodeError::Malformed("DUP set on a QoS 0 PUBLISH"));
    }
    let n = usize::from(r.u16()?);
    let raw = r.take(n)?;
    let topic = super::reader::validate_utf8(&raw)?;
    if topic.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(DecodeError::TopicName("wildcard in a topic name"));
    }
    // An empty topic is only allowed with an MQTT 5 Topic Alias, checked by the connection.
    if topic.is_empty() && !v5 {
        return Err(DecodeError::TopicName("empty topic name"));
    }
    let topic: Arc<str> = match cache {
        Some(t) if **t == *topic => t.clone(),
        _ => {
            let t: Arc<str> = Arc::from(topic);
            *cache = Some(t.clone());
            t
        }
    };
    let pkid = if qos == QoS::AtMostOnce {
        0
    } else {
        let id = r.u16()?;
        if id == 0 {
            // [MQTT311-2.3.1-1] [MQTT5-2.2.1-3]
            return Err(DecodeError::Malformed("packet identifier 0"));
        }
        id
    };
    let properties = if v5 {
        let p = Properties::read(r, PropertyContext::Publish)?;
        if p.is_empty() {
            None
        } else {
            Some(Box::new(p))
        }
    } else {
        None
    };
    let payload = r.rest();
    Ok(Publish {
        dup,
        qos,
        retain,
        topic,
        pkid,
        properties,
        payload,
    })
}

fn read_ack(r: &mut Reader, v5: bool) -> Result<Ack, DecodeError> {
    let pkid = r.u16()?;
    if pkid == 0 {
        return Err(DecodeError::Malformed("packet identifier 0"));
    }
    let mut ack = Ack::new(pkid, 0);
    if v5 {
        if r.remaining() > 0 {
            ack.reason = r.u8()?;
        }
        if r.remaining() > 0 {
            let p = Properties::read(r, PropertyContext::Ack)?;
            if !p.is_empty() {
                ack.properties = Some(Box::new(p));
            }
        }
    }
    r.finish()?;
    Ok(ack)
}

fn read_subscribe(r: &mut Reader, v5: bool) -> Result<Subscribe, DecodeError> {
    let pkid = r.u16()?;
    if pkid == 0 {
        return Err(DecodeError::Malformed("packet identifier 0"));
    }
    let properties = if v5 {
        Properties::read(r, PropertyContext::Subscribe)?
    } else {
        Properties::default()
    };
    let mut filters = Vec::new();
    while r.remaining() > 0 {
        let filter = r.string()?;
        let opts = r.u8()?;
        let reserved = if v5 { opts & 0xC0 } else { opts & 0xFC };
        if reserved != 0 {
            // [MQTT311-3.8.3-4] (3.1.1) / [MQTT5-3.8.3-5] (5.0)
            return Err(DecodeError::Malformed(
                "reserved subscription option bits set",
            ));
        }
        let qos =
            QoS::from_u8(opts & 0x03).ok_or(DecodeError::Malformed("subscription with QoS 3"))?;
        let retain_handling = match (opts >> 4) & 0x03 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            // MQTT5 §3.8.3.1: a Retain Handling of 3 is a Protocol Error.
            _ => return Err(DecodeError::Protocol("retain handling 3")),
        };
        filters.push((
            filter,
            SubscriptionOptions {
                qos,
                no_local: opts & 0x04 != 0,
                retain_as_published: opts & 0x08 != 0,
                retain_handling,
            },
        ));
    }
    if filters.is_empty() {
        // [MQTT311-3.8.3-3] [MQTT5-3.8.3-2]
        return Err(DecodeError::Malformed("SUBSCRIBE without a topic filter"));
    }
    Ok(Subscribe {
        pkid,
        filters,
        properties,
    })
}

fn read_unsubscribe(r: &mut Reader, v5: bool) -> Result<Unsubscribe, DecodeError> {
    let pkid = r.u16()?;
    if pkid == 0 {
        return Err(DecodeError::Malformed("packet identifier 0"));
    }
    let properties = if v5 {
        Properties::read(r, PropertyContext::Unsubscribe)?
    } else {
        Properties::default()
    };
    let mut filters = Vec::new();
    while r.remaining() > 0 {
        filters.push(r.string()?);
    }
    if filters.is_empty() {
        // [MQTT311-3.10.3-2] [MQTT5-3.10.3-2]
        return Err(DecodeError::Malformed("UNSUBSCRIBE without a topic filter"));
    }
    Ok(Unsubscribe {
        pkid,
        filters,
        properties,
    })
}

fn read_disconnect(r: &mut Reader, v5: bool) -> Result<Disconnect, DecodeError> {
    let mut d = Disconnect {
        reason: ReasonCode::Success,
        properties: Properties::default(),
    };
    if v5 {
        // §3.14.2.1: a remaining length of 0 means reason 0x00 (mosquitto_pub -V 5 sends this).
        if r.remaining() > 0 {
            let b = r.u8()?;
            d.reason = ReasonCode::from_disconnect_byte(b)
                .ok_or(DecodeError::Malformed("undefined DISCONNECT reason code"))?;
        }
        if r.remaining() > 0 {
            d.properties = Properties::read(r, PropertyContext::Disconnect)?;
        }
    }
    r.finish()?;
    Ok(d)
}

fn read_auth(r: &mut Reader) -> Result<Auth, DecodeError> {
    let mut a = Auth {
        reason: 0,
        properties: Properties::default(),
    };
    if r.remaining() > 0 {
        a.reason = r.u8()?;
        if !matches!(a.reason, 0x00 | 0x18 | 0x19) {
            return Err(DecodeError::Malformed("undefined AUTH reason code"));
        }
    }
    if r.remaining() > 0 {
        a.properties = Properties::read(r, PropertyContext::Auth)?;
    }
    r.finish()?;
    Ok(a)
}
