//! Tests of the workbench model and screens.
