//! Operator requests that reach the router from outside the network: what the signals ask for.

use std::sync::Arc;

use super::security::SecurityPolicy;

/// A request to the router from the operator (SIGHUP, SIGUSR1, SIGUSR2).
#[derive(Debug)]
pub enum Control {
    /// Use these ACLs from now on (SIGHUP re-read the files).
    Security(Arc<SecurityPolicy>),
    /// Write the persistence file now (SIGUSR1).
    SaveNow,
    /// Print every subscription to the log (SIGUSR2).
    DumpSubscriptions,
    /// Publish a message from the broker itself at QoS 0, not retained (`log_dest topic`).
    Publish {
        /// Topic name.
        topic: Arc<str>,
        /// Payload.
        payload: bytes::Bytes,
    },
}
