//! Picking the compute device: `auto`, `cpu` or `cuda[:N]`.

use std::fmt;
use std::str::FromStr;

use candle_core::Device;
use serde::{Deserialize, Serialize};

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
    /// `cpu`, or `cuda:N` and the GPU's name.
    pub name: String,
    /// Which GPU, for a CUDA device whose driver names it.
    pub gpu: Option<GpuIdentity>,
}

impl OpenedDevice {
    /// The CPU.
    pub fn cpu() -> Self {
        Self {
            device: Device::Cpu,
            name: "cpu".into(),
            gpu: None,
        }
    }
}

/// Opens the chosen device; `auto` falls back to the CPU when no GPU opens.
pub fn open(choice: DeviceChoice) -> Result<OpenedDevice, DeviceError> {
    let cpu = OpenedDevice::cpu;
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
    let device = Device::new_cuda(ordinal).map_err(|e| DeviceError::Cuda {
        ordinal,
        message: e.to_string().lines().next().unwrap_or_default().to_string(),
    })?;
    let gpu = gpu_identity(&device);
    let name = match &gpu {
        Some(g) => format!("cuda:{ordinal} {}", g.name),
        None => format!("cuda:{ordinal}"),
    };
    Ok(OpenedDevice { device, name, gpu })
}

/// The GPU's name and UUID from the CUDA driver.
#[cfg(feature = "cuda")]
fn gpu_identity(device: &Device) -> Option<GpuIdentity> {
    let cuda = device.as_cuda_device().ok()?;
    let stream = cuda.cuda_stream();
    let context = stream.context();
    let name = context.name().ok()?;
    let uuid = context.uuid().ok()?;
    // NVML names devices "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx".
    let hex: String = uuid
        .bytes
        .iter()
        .map(|&b| format!("{:02x}", b as u8))
        .collect();
    let uuid = format!(
        "GPU-{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    );
    Some(GpuIdentity { name, uuid })
}

#[cfg(not(feature = "cuda"))]
fn gpu_identity(_: &Device) -> Option<GpuIdentity> {
    None
}

/// Which GPU a CUDA device is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpuIdentity {
    /// The product name, e.g. `NVIDIA H200`.
    pub name: String,
    /// NVML's UUID string, `GPU-…`.
    pub uuid: String,
}

/// Memory and utilisation of the GPU, as NVML reports them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GpuStats {
    /// Bytes of device memory in use (by every process).
    pub memory_used: u64,
    /// Bytes of device memory in all.
    pub memory_total: u64,
    /// Percent of the last sample period a kernel was running.
    pub utilization: u32,
}

/// Samples [`GpuStats`] through NVML, which is loaded at run time: where there is no
/// `libnvidia-ml.so` (no driver, a CPU build) [`GpuMonitor::open`] gives `None`.
pub struct GpuMonitor {
    #[cfg(feature = "cuda")]
    nvml: nvml_wrapper::Nvml,
    #[cfg(feature = "cuda")]
    uuid: String,
}

impl GpuMonitor {
    /// A monitor for `gpu`, if NVML loads and knows it.
    #[cfg(feature = "cuda")]
    pub fn open(gpu: &GpuIdentity) -> Option<Self> {
        let nvml = nvml_wrapper::Nvml::init().ok()?;
        nvml.device_by_uuid(gpu.uuid.as_str()).ok()?;
        Some(Self {
            nvml,
            uuid: gpu.uuid.clone(),
        })
    }

    /// Without CUDA there is no GPU to watch.
    #[cfg(not(feature = "cuda"))]
    pub fn open(_: &GpuIdentity) -> Option<Self> {
        None
    }

    /// The GPU's memory and utilisation now.
    #[cfg(feature = "cuda")]
    pub fn sample(&self) -> Option<GpuStats> {
        let device = self.nvml.device_by_uuid(self.uuid.as_str()).ok()?;
        let memory = device.memory_info().ok()?;
        let utilization = device.utilization_rates().ok()?;
        Some(GpuStats {
            memory_used: memory.used,
            memory_total: memory.total,
            utilization: utilization.gpu,
        })
    }

    /// Without CUDA there is nothing to sample.
    #[cfg(not(feature = "cuda"))]
    pub fn sample(&self) -> Option<GpuStats> {
        None
    }
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

    #[test]
    fn no_gpu_monitor_without_a_gpu() {
        let gpu = GpuIdentity {
            name: "none".into(),
            uuid: "GPU-00000000-0000-0000-0000-000000000000".into(),
        };
        assert!(GpuMonitor::open(&gpu).is_none());
    }

    #[cfg(not(feature = "cuda"))]
    #[test]
    fn cuda_in_a_cpu_build_says_how_to_build_it() {
        let err = open(DeviceChoice::Cuda(0)).unwrap_err().to_string();
        assert!(err.contains("--features cuda"), "{err}");
    }
}
