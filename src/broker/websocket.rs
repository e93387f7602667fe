//! MQTT over WebSockets (`protocol websockets` listeners): the HTTP upgrade, then the same
//! connection code as TCP over a byte stream made of binary frames. One frame may carry several
//! MQTT packets or part of one [MQTT311-6.0.0-2] [MQTT5-6.0.0-2]; the subprotocol is `mqtt` [MQTT311-6.0.0-4] [MQTT5-6.0.0-4].

use std::net::SocketAddr;
use std::sync::Arc;

use async_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use async_tungstenite::tungstenite::http::HeaderValue;
use async_tungstenite::tungstenite::protocol::WebSocketConfig;
use ws_stream_tungstenite::WsStream;

use super::connection::{self, Shared};
use super::event::BrokerEvent;

/// Largest WebSocket frame or message when `max_packet_size` is not set.
const WS_DEFAULT_LIMIT: usize = 16 * 1024 * 1024;

/// Picks the MQTT subprotocol the client offered, as MQTT over WebSockets requires.
// The signature is tungstenite's handshake callback; its error type is not ours to shrink.
#[allow(clippy::result_large_err)]
fn choose_subprotocol(req: &Request, mut resp: Response) -> Result<Response, ErrorResponse> {
    let offered = req
        .headers()
        .get_all("Sec-WebSocket-Protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|p| p.eq_ignore_ascii_case("mqtt") || p.eq_ignore_ascii_case("mqttv3.1"))
        .map(str::to_owned);
    if let Some(p) = offered
        && let Ok(v) = HeaderValue::from_str(&p)
    {
        resp.headers_mut().insert("Sec-WebSocket-Protocol", v);
    }
    Ok(resp)
}

/// Serves one WebSocket connection: upgrade within the CONNECT deadline, then MQTT.
pub async fn serve<S>(stream: S, peer: SocketAddr, port: u16, listener: usize, shared: Arc<Shared>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    // Frames and messages are capped like MQTT packets, so a client cannot make the broker
    // buffer tungstenite's default 64 MiB before CONNECT (the CVE-2023-0809 pattern).
    let limit = match shared.cfg.max_packet_size {
        0 => WS_DEFAULT_LIMIT,
        n => n.max(crate::protocol::decode::MAX_CONNECT_SIZE),
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit));
    let handshake = async_tungstenite::tokio::accept_hdr_async_with_config(
        stream,
        choose_subprotocol,
        Some(config),
    );
    let ws = match tokio::time::timeout(shared.cfg.connect_timeout, handshake).await {
        Ok(Ok(ws)) => ws,
        Ok(Err(e)) => {
            shared.events.emit(BrokerEvent::DisconnectedBecause {
                client: Arc::from("<unknown>"),
                reason: format!("WebSocket handshake from {peer} failed: {e}"),
            });
            return;
        }
        Err(_) => {
            shared.events.emit(BrokerEvent::DisconnectedBecause {
                client: Arc::from("<unknown>"),
                reason: format!("no WebSocket upgrade from {peer} in time"),
            });
            return;
        }
    };
    connection::serve(WsStream::new(ws), peer, port, listener, shared).await;
}
