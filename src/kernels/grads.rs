//! The argument groups of backward passes: what a backward pass reads and
//! what it writes, named as in the rest of striate.

/// What the backward pass of a layer with weights reads: the forward
/// input `x`, the weights `w` and the gradient `dy` of the forward output.
#[derive(Clone, Copy, Debug)]
pub struct BackwardIn<'a, T> {
    /// The forward pass's input.
    pub x: &'a [T],
    /// The weights the forward pass used.
    pub w: &'a [T],
    /// Gradient of the forward pass's output.
    pub dy: &'a [T],
}

/// The gradients a backward pass overwrites.
#[derive(Debug)]
pub struct GradsOut<'a, T> {
    /// Gradient of the input; `None` where nothing needs it (a first layer).
    pub d_input: Option<&'a mut [T]>,
    /// Gradient of the weights.
    pub d_weight: &'a mut [T],
    /// Gradient of the bias; `None` without a bias.
    pub d_bias: Option<&'a mut [T]>,
}
