//! Socket-free router tests.
