//! The built-in jet generator (see below).
