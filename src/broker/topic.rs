//! Moved to [`crate::protocol::topic`]: topic names and filters are shared vocabulary, not the
//! broker's. This re-export keeps old import paths compiling until they are updated.

pub use crate::protocol::topic::*;
