//! The vfio-user side of one device: regions, IRQs and the
//! [`ServerBackend`] that routes messages into the [`World`].

use std::fs::File;
use std::mem::size_of;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use cloudnic_models::PciIdentity;
use vfio_bindings::bindings::vfio::{
    vfio_region_info, vfio_region_sparse_mmap_area, VFIO_IRQ_INFO_EVENTFD, VFIO_IRQ_INFO_NORESIZE,
    VFIO_PCI_CONFIG_REGION_INDEX, VFIO_PCI_MSIX_IRQ_INDEX, VFIO_PCI_NUM_IRQS, VFIO_PCI_NUM_REGIONS,
    VFIO_REGION_INFO_FLAG_MMAP, VFIO_REGION_INFO_FLAG_READ, VFIO_REGION_INFO_FLAG_WRITE,
};
use vfio_user::{DmaMapFlags, DmaUnmapFlags, IrqInfo, ServerBackend, ServerRegion, SparseArea};

use crate::pci_config::CONFIG_SIZE;
use crate::world::World;

/// Number of PCI BARs.
const NUM_BARS: u32 = 6;

/// Region table for a function: its BARs (a direct BAR mmap-able through
/// its memfd), and the config space.
pub fn regions(id: &PciIdentity, direct: Option<(u8, &File)>) -> Vec<ServerRegion> {
    let rw = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
    (0..VFIO_PCI_NUM_REGIONS)
        .map(|index| {
            let mut info = vfio_region_info {
                argsz: size_of::<vfio_region_info>() as u32,
                index,
                ..Default::default()
            };
            let mut sparse_areas = Vec::new();
            let mut mmap_fd = None;
            if index < NUM_BARS {
                let size = id.bar_sizes[index as usize];
                if size != 0 {
                    info.size = size;
                    info.flags = rw;
                    if let Some((bar, file)) = direct.filter(|d| u32::from(d.0) == index) {
                        info.flags |= VFIO_REGION_INFO_FLAG_MMAP;
                        info.offset = 0;
                        sparse_areas.push(SparseArea {
                            area: vfio_region_sparse_mmap_area { offset: 0, size },
                        });
                        mmap_fd = Some(file.as_raw_fd());
                        let _ = bar;
                    }
                }
            } else if index == VFIO_PCI_CONFIG_REGION_INDEX {
                info.size = CONFIG_SIZE as u64;
                info.flags = rw;
            }
            ServerRegion {
                region_info: info,
                sparse_areas,
                mmap_fd,
            }
        })
        .collect()
}

/// IRQ table: MSI-X only (no INTx pin, no MSI).
pub fn irqs(msix_vectors: u16) -> Vec<IrqInfo> {
    (0..VFIO_PCI_NUM_IRQS)
        .map(|index| {
            if index == VFIO_PCI_MSIX_IRQ_INDEX {
                IrqInfo {
                    index,
                    flags: VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE,
                    count: u32::from(msix_vectors),
                }
            } else {
                IrqInfo {
                    index,
                    flags: 0,
                    count: 0,
                }
            }
        })
        .collect()
}

/// One device's message handler.
pub struct Backend {
    /// The shared world.
    pub world: Arc<World>,
    /// This device's slot.
    pub idx: usize,
    /// Log every message.
    pub verbose: bool,
}

impl ServerBackend for Backend {
    fn region_read(&mut self, region: u32, offset: u64, data: &mut [u8]) -> std::io::Result<()> {
        let mut w = self.world.lock();
        if region == VFIO_PCI_CONFIG_REGION_INDEX {
            if let Some(s) = w.slots.get(self.idx) {
                s.config.read(offset, data);
            }
        } else if region < NUM_BARS {
            w.bar_read(self.idx, region as u8, offset, data);
        } else {
            data.fill(0);
        }
        if self.verbose {
            eprintln!("[emu {}] read  r{region} {offset:#x} {data:02x?}", self.idx);
        }
        Ok(())
    }

    fn region_write(&mut self, region: u32, offset: u64, data: &[u8]) -> std::io::Result<()> {
        if self.verbose {
            eprintln!("[emu {}] write r{region} {offset:#x} {data:02x?}", self.idx);
        }
        let mut w = self.world.lock();
        if region == VFIO_PCI_CONFIG_REGION_INDEX {
            if let Some(s) = w.slots.get_mut(self.idx) {
                s.config.write(offset, data);
            }
        } else if region < NUM_BARS {
            w.bar_write(self.idx, region as u8, offset, data);
        }
        Ok(())
    }

    fn dma_map(
        &mut self,
        _flags: DmaMapFlags,
        offset: u64,
        address: u64,
        size: u64,
        fd: Option<File>,
    ) -> std::io::Result<()> {
        let mut w = self.world.lock();
        let Some(s) = w.slots.get_mut(self.idx) else {
            return Ok(());
        };
        s.connected = true;
        if self.verbose || (fd.is_none() && size >= 1 << 20) {
            eprintln!(
                "[emu {}] dma_map {address:#x}+{size:#x} fd={} (guest RAM must be a shared memfd for DMA)",
                self.idx,
                fd.is_some()
            );
        }
        if let Err(e) = s.mem.map(address, size, fd, offset) {
            eprintln!(
                "[emu {}] dma_map {address:#x}+{size:#x} failed: {e}",
                self.idx
            );
        }
        Ok(())
    }

    fn dma_unmap(&mut self, flags: DmaUnmapFlags, address: u64, size: u64) -> std::io::Result<()> {
        let w = self.world.lock();
        if let Some(s) = w.slots.get(self.idx) {
            s.mem
                .unmap(address, size, flags.contains(DmaUnmapFlags::UNMAP_ALL));
        }
        Ok(())
    }

    fn reset(&mut self) -> std::io::Result<()> {
        let mut w = self.world.lock();
        if let Some(s) = w.slots.get_mut(self.idx) {
            eprintln!("[emu {}] device reset (vfio-user DEVICE_RESET)", self.idx);
            s.dev.power_on_reset();
            s.config.reset();
        }
        Ok(())
    }

    fn set_irqs(
        &mut self,
        index: u32,
        flags: u32,
        start: u32,
        count: u32,
        fds: Vec<File>,
    ) -> std::io::Result<()> {
        if self.verbose {
            eprintln!(
                "[emu {}] set_irqs index {index} flags {flags:#x} start {start} count {count} fds {}",
                self.idx,
                fds.len()
            );
        }
        if index == VFIO_PCI_MSIX_IRQ_INDEX {
            let w = self.world.lock();
            if let Some(s) = w.slots.get(self.idx) {
                s.irq.set_irqs(flags, start, count, fds);
            }
        }
        Ok(())
    }
}
