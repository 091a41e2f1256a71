//! Picking the compute device: `auto`, `cpu` or `cuda[:N]`.

use std::fmt;
use std::str::FromStr;

use candle_core::Device;
use serde::Deserialize;

/// The device the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(try_from = "String")]
pub enum DeviceChoice {
    /// CUDA when built with it and a GPU opens, else the CPU.
    #[default]
    Auto,
    /// The CPU.
    Cpu,
    /// CUDA device N.
    Cuda(usize),
}

impl FromStr for DeviceChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("`{s}` is not a device (auto, cpu, cuda or cuda:N)");
        match s {
            "auto" => Ok(DeviceChoice::Auto),
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            _ => match s.strip_prefix("cuda:") {
                Some(n) => n.parse().map(DeviceChoice::Cuda).map_err(|_| bad()),
                None => Err(bad()),
            },
        }
    }
}

impl TryFrom<String> for DeviceChoice {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceChoice::Auto => f.write_str("auto"),
            DeviceChoice::Cpu => f.write_str("cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// Why the requested device cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// CUDA asked for, but this binary has no CUDA backend.
    #[error(
        "--device {0}: this lenet-tui was built without CUDA support; rebuild it with \
         `cargo build --release --features cuda` (needs the CUDA toolkit), or use --device cpu"
    )]
    NotBuilt(DeviceChoice),
    /// The CUDA device would not open.
    #[error("--device cuda:{ordinal}: cannot open the GPU: {message}")]
    Cuda {
        /// The device number.
        ordinal: usize,
        /// Candle's reason.
        message: String,
    },
}

/// An opened device and its name for reports.
#[derive(Debug, Clone)]
pub struct OpenedDevice {
    /// The Candle device.
    pub device: Device,
    /// `cpu` or `cuda:N`.
    pub name: String,
}

/// Opens the chosen device; `auto` falls back to the CPU when no GPU opens.
pub fn open(choice: DeviceChoice) -> Result<OpenedDevice, DeviceError> {
    let cpu = || OpenedDevice {
        device: Device::Cpu,
        name: "cpu".into(),
    };
    match choice {
        DeviceChoice::Cpu => Ok(cpu()),
        // A CUDA build reports CUDA as available even without a GPU, so the only real
        // test is opening the device.
        DeviceChoice::Auto if cfg!(feature = "cuda") => Ok(open_cuda(0).unwrap_or_else(|_| cpu())),
        DeviceChoice::Auto => Ok(cpu()),
        DeviceChoice::Cuda(_) if !cfg!(feature = "cuda") => Err(DeviceError::NotBuilt(choice)),
        DeviceChoice::Cuda(ordinal) => open_cuda(ordinal),
    }
}

fn open_cuda(ordinal: usize) -> Result<OpenedDevice, DeviceError> {
    Device::new_cuda(ordinal)
        .map(|device| OpenedDevice {
            device,
            name: format!("cuda:{ordinal}"),
        })
        .map_err(|e| DeviceError::Cuda {
            ordinal,
            message: e.to_string().lines().next().unwrap_or_default().to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_device_names() {
        assert_eq!("cuda".parse(), Ok(DeviceChoice::Cuda(0)));
        assert_eq!("cuda:3".parse(), Ok(DeviceChoice::Cuda(3)));
        assert_eq!("cpu".parse(), Ok(DeviceChoice::Cpu));
        assert!("gpu".parse::<DeviceChoice>().is_err());
        assert!("cuda:x".parse::<DeviceChoice>().is_err());
    }

    #[test]
    fn auto_and_cpu_always_open() {
        assert_eq!(open(DeviceChoice::Cpu).unwrap().name, "cpu");
        assert!(open(DeviceChoice::Auto).is_ok());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_in_a_cpu_build_says_how_to_build_it() {
        let err = open(DeviceChoice::Cuda(0)).unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }
}
