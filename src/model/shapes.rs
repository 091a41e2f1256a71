//! The per-layer shape table: plain data derived from a dry run of the model.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One layer's output shape and parameter count, as a dry run measured it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerShape {
    /// The layer, named as PyTorch names the class (`Conv2d`, `AvgPool2d`, …).
    pub layer: String,
    /// Output shape for a batch of one, e.g. `[1, 6, 28, 28]`.
    pub output: Vec<usize>,
    /// Trainable parameters in this layer.
    pub parameters: usize,
}

/// Every layer in forward order, for one input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerTable {
    /// Input shape of the dry run, e.g. `[1, 1, 28, 28]`.
    pub input: Vec<usize>,
    /// The layers.
    pub layers: Vec<LayerShape>,
}

impl LayerTable {
    /// Total trainable parameters.
    pub fn total_parameters(&self) -> usize {
        self.layers.iter().map(|l| l.parameters).sum()
    }
}

/// A shape written as the chapter's table shows it, `1×6×28×28`.
pub fn format_shape(dims: &[usize]) -> String {
    dims.iter()
        .map(usize::to_string)
        .collect::<Vec<_>>()
        .join("×")
}

/// A count with thousands separators, `61,706`.
pub fn format_count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for LayerTable {
    /// The shape walk as a text table: layer, output shape, parameters, total.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rows: Vec<[String; 3]> = self
            .layers
            .iter()
            .map(|l| {
                [
                    l.layer.clone(),
                    format_shape(&l.output),
                    format_count(l.parameters),
                ]
            })
            .collect();
        let total = format_count(self.total_parameters());
        let w0 = rows
            .iter()
            .map(|r| r[0].chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        let w1 = rows
            .iter()
            .map(|r| r[1].chars().count())
            .max()
            .unwrap_or(0)
            .max("output shape".len());
        let w2 = rows
            .iter()
            .map(|r| r[2].len())
            .chain([total.len(), "parameters".len()])
            .max()
            .unwrap_or(0);
        writeln!(
            f,
            "{:<w0$}  {:<w1$}  {:>w2$}",
            "layer", "output shape", "parameters"
        )?;
        writeln!(
            f,
            "{:<w0$}  {:<w1$}  {:>w2$}",
            "input",
            format_shape(&self.input),
            ""
        )?;
        for [name, shape, params] in &rows {
            writeln!(f, "{name:<w0$}  {shape:<w1$}  {params:>w2$}")?;
        }
        write!(f, "{:<w0$}  {:<w1$}  {total:>w2$}", "total", "")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_shapes_read_like_the_chapter() {
        assert_eq!(format_count(61706), "61,706");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1_000_000), "1,000,000");
        assert_eq!(format_shape(&[1, 6, 28, 28]), "1×6×28×28");
    }
}
