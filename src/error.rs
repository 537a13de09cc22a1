//! The library's one error type.
//!
//! Every variant carries enough context to tell a user what went wrong and
//! where: which op or layer, which shape, which file and which line of it.
//! Public entry points validate their arguments once and return these errors;
//! the kernels behind them take validated parameters and cannot fail.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in striate's library code.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tensor did not have the shape an operation needs.
    #[error("{op}: expected shape {expected}, got {actual:?}")]
    Shape {
        /// The operation or layer that checked the shape (e.g. `conv2d`).
        op: String,
        /// The shape it needs, in words or as a pattern (e.g. `[n, c_in, h, w]`).
        expected: String,
        /// The shape it was given.
        actual: Vec<usize>,
    },

    /// A hyper-parameter or argument that cannot work.
    #[error("{what}: {reason}")]
    InvalidArgument {
        /// The argument or hyper-parameter (e.g. `stride`, `batch_size`).
        what: String,
        /// Why its value cannot work.
        reason: String,
    },

    /// An error inside a model's layer, with its position and name.
    #[error("layer {index} ({name}, {kind}): {source}")]
    Layer {
        /// Position of the layer in the model, counted from 0.
        index: usize,
        /// The layer's name (given, or generated such as `conv1`, `fc2`).
        name: String,
        /// The layer's kind, as spelt in model files (e.g. `conv2d`).
        kind: String,
        /// What went wrong inside the layer.
        #[source]
        source: Box<Error>,
    },

    /// A class label outside `0..n_classes`.
    #[error("label {label} at sample {sample} is out of range for {n_classes} classes")]
    LabelOutOfRange {
        /// Index of the sample, counted from 0.
        sample: usize,
        /// The offending label (signed, so negative labels can be reported).
        label: i64,
        /// Number of classes the labels must stay below.
        n_classes: usize,
    },

    /// The loss turned NaN or infinite during training.
    #[error("loss became {value} at epoch {epoch}, batch {batch}; try a lower learning rate")]
    NonFiniteLoss {
        /// Epoch, counted from 1.
        epoch: usize,
        /// Batch within the epoch, counted from 1.
        batch: usize,
        /// The loss value (NaN or ±infinity).
        value: f64,
    },

    /// A data set that cannot be used as given (empty, NaN values, mismatched sizes).
    #[error("{0}")]
    Data(String),

    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder being read or written.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A file was read but its content is not what its format promises.
    #[error("{}: {detail}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line, record or key where known.
        detail: String,
    },

    /// Weights that do not fit a model (missing, unexpected or mis-shaped tensors).
    #[error("weights: {0}")]
    Weights(String),

    /// A model description (file or code) that cannot be built.
    #[error("model: {0}")]
    Model(String),

    /// A failure inside striate (not caused by the input): serialising state,
    /// rendering a chart. The binary exits with status 1 for these.
    #[error("{what}: {detail}")]
    Internal {
        /// What striate was doing (e.g. `rendering a chart`).
        what: String,
        /// The underlying failure.
        detail: String,
    },
}

impl Error {
    pub(crate) fn shape(op: impl Into<String>, expected: impl Into<String>, actual: &[usize]) -> Self {
        Error::Shape {
            op: op.into(),
            expected: expected.into(),
            actual: actual.to_vec(),
        }
    }

    pub(crate) fn invalid(what: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::InvalidArgument {
            what: what.into(),
            reason: reason.into(),
        }
    }

    /// A file that is not there.
    pub(crate) fn not_found(path: impl Into<PathBuf>) -> Self {
        Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or directory"),
        )
    }

    /// A TOML error of the text `text` on one line, `line L, column C:
    /// message`, without the source excerpt the `toml` crate adds (which for
    /// a long or deeply nested line would repeat it whole).
    pub(crate) fn toml_message(text: &str, e: &toml::de::Error) -> String {
        let message = e
            .message()
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        let Some(at) = e.span().map(|s| s.start.min(text.len())) else {
            return message;
        };
        let before = text.get(..at).unwrap_or("");
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("line {line}, column {column}: {message}")
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn internal(what: impl Into<String>, detail: impl std::fmt::Display) -> Self {
        Error::Internal {
            what: what.into(),
            detail: detail.to_string(),
        }
    }

    pub(crate) fn format(path: impl Into<PathBuf>, detail: impl Into<String>) -> Self {
        Error::Format {
            path: path.into(),
            detail: detail.into(),
        }
    }

    /// True for errors caused by what the user supplied (files, shapes, flags),
    /// false for internal failures. The binary maps this to exit status 2 or 1.
    pub fn is_user_error(&self) -> bool {
        match self {
            Error::Layer { source, .. } => source.is_user_error(),
            // A diverging run: the learning rate or the data are the cause.
            Error::NonFiniteLoss { .. } => true,
            Error::Io { source, .. } => !matches!(
                source.kind(),
                std::io::ErrorKind::OutOfMemory | std::io::ErrorKind::Interrupted
            ),
            Error::Shape { .. }
            | Error::InvalidArgument { .. }
            | Error::LabelOutOfRange { .. }
            | Error::Data(_)
            | Error::Format { .. }
            | Error::Weights(_)
            | Error::Model(_) => true,
            Error::Internal { .. } => false,
        }
    }
}
