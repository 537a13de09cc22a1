//! How sizes and paddings are written in model files.
//!
//! A pair may be one number for both axes (`kernel = 3`) or two
//! (`kernel = [3, 5]`). A 2-D padding is `"valid"`, `"same"`, one number,
//! `[pad_h, pad_w]` or `[top, bottom, left, right]`; a 1-D padding is
//! `"valid"`, `"same"`, one number or `[left, right]`.
//!
//! Also the `default` and `skip_serializing_if` helpers every layer config
//! shares, so a default is written once beside the field it belongs to.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ops::conv::Padding;

#[derive(Deserialize, Serialize)]
#[serde(untagged)]
enum Repr {
    Name(String),
    One(usize),
    Many(Vec<usize>),
}

pub mod pair {
    use super::*;

    pub fn serialize<S: Serializer>(v: &[usize; 2], s: S) -> Result<S::Ok, S::Error> {
        if v[0] == v[1] {
            v[0].serialize(s)
        } else {
            v.serialize(s)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[usize; 2], D::Error> {
        match Repr::deserialize(d)? {
            Repr::One(v) => Ok([v, v]),
            Repr::Many(v) if v.len() == 2 => Ok([v[0], v[1]]),
            _ => Err(D::Error::custom("expected a number or a pair [h, w]")),
        }
    }
}

pub mod opt_pair {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<[usize; 2]>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::pair::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[usize; 2]>, D::Error> {
        super::pair::deserialize(d).map(Some)
    }
}

fn named(name: &str) -> Option<Padding> {
    match name.to_ascii_lowercase().as_str() {
        "valid" => Some(Padding::Valid),
        "same" => Some(Padding::Same),
        _ => None,
    }
}

fn name_of(p: &Padding) -> Option<&'static str> {
    match p {
        Padding::Valid => Some("valid"),
        Padding::Same => Some("same"),
        Padding::Explicit { .. } => None,
    }
}

pub mod padding2d {
    use super::*;

    pub fn serialize<S: Serializer>(p: &Padding, s: S) -> Result<S::Ok, S::Error> {
        match (name_of(p), *p) {
            (Some(n), _) => n.serialize(s),
            (
                None,
                Padding::Explicit {
                    top,
                    bottom,
                    left,
                    right,
                },
            ) => {
                if top == bottom && left == right && top == left {
                    top.serialize(s)
                } else if top == bottom && left == right {
                    [top, left].serialize(s)
                } else {
                    [top, bottom, left, right].serialize(s)
                }
            }
            _ => unreachable!("named paddings handled above"),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Padding, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Name(n) => named(&n)
                .ok_or_else(|| D::Error::custom(format!("unknown padding {n:?}; use \"valid\", \"same\" or numbers"))),
            Repr::One(p) => Ok(Padding::symmetric(p)),
            Repr::Many(v) if v.len() == 2 => Ok(Padding::hw(v[0], v[1])),
            Repr::Many(v) if v.len() == 4 => Ok(Padding::Explicit {
                top: v[0],
                bottom: v[1],
                left: v[2],
                right: v[3],
            }),
            Repr::Many(_) => Err(D::Error::custom(
                "padding needs 1, 2 ([h, w]) or 4 ([top, bottom, left, right]) numbers",
            )),
        }
    }
}

pub mod padding1d {
    use super::*;

    pub fn serialize<S: Serializer>(p: &Padding, s: S) -> Result<S::Ok, S::Error> {
        match (name_of(p), *p) {
            (Some(n), _) => n.serialize(s),
            (None, Padding::Explicit { left, right, .. }) => {
                if left == right {
                    left.serialize(s)
                } else {
                    [left, right].serialize(s)
                }
            }
            _ => unreachable!("named paddings handled above"),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Padding, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Name(n) => named(&n)
                .ok_or_else(|| D::Error::custom(format!("unknown padding {n:?}; use \"valid\", \"same\" or numbers"))),
            Repr::One(p) => Ok(Padding::hw(0, p)),
            Repr::Many(v) if v.len() == 2 => Ok(Padding::Explicit {
                top: 0,
                bottom: 0,
                left: v[0],
                right: v[1],
            }),
            Repr::Many(_) => Err(D::Error::custom("1-D padding needs 1 number or [left, right]")),
        }
    }
}

/// `skip_serializing_if` for fields at their type's default.
pub fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// `default` for flags that are on unless turned off.
pub fn yes() -> bool {
    true
}

/// `skip_serializing_if` for flags at their default, on.
pub fn is_true(v: &bool) -> bool {
    *v
}

/// `default = "n::<N>"`: a size that defaults to `N`.
pub fn n<const N: usize>() -> usize {
    N
}

/// `skip_serializing_if = "is_n::<N>"`: a size at its default `N`.
pub fn is_n<const N: usize>(v: &usize) -> bool {
    *v == N
}

/// `default = "n2::<N>"`: a pair that defaults to `[N, N]`.
pub fn n2<const N: usize>() -> [usize; 2] {
    [N, N]
}

/// `skip_serializing_if = "is_n2::<N>"`: a pair at its default `[N, N]`.
pub fn is_n2<const N: usize>(v: &[usize; 2]) -> bool {
    *v == [N, N]
}
