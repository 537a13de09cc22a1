//! Readers of constituent files.
