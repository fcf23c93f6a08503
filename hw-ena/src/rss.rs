//! ENA RSS programming (ena.md §6.7, payloads in §3.6): Toeplitz with a
//! 40-byte key (RSS_HASH_FUNCTION + key control buffer), the default hash
//! fields per protocol (RSS_HASH_INPUT + 256-byte control buffer) and the
//! indirection table (RSS_INDIRECTION_TABLE_CONFIG + entry buffer). Each
//! piece is optional: a refusal is logged ("Feature N isn't supported" by the
//! admin queue) and RSS keeps working with whatever the device does.

use zerocopy::{FromBytes, IntoBytes};

use cloudnic_common::{cn_err, ConfigError, DmaRegion, Error, Platform, RegisterBar};

use crate::admin::AdminQueue;
use crate::defs::admin::{
    rss_proto, FeatureId, RssFields, RssHashControl, RssHashFunction, RssHashInput,
    RssHashKeyBuffer, RssIndEntry, RssIndTable, RSS_HASH_FUNCTION_TOEPLITZ, RSS_HASH_INIT_VALUE,
    RSS_IND_INLINE_INDEX_NONE, RSS_IND_MAX_LOG_SIZE, RSS_INPUT_L3_SORT, RSS_INPUT_L4_SORT,
    RSS_KEY_PARTS, RSS_KEY_SIZE,
};

/// Key used until the user sets one. Linux fills a random key; without an
/// entropy source in the platform contract we use the widely published
/// Microsoft RSS verification key, so hashes are reproducible in tests.
pub const DEFAULT_RSS_KEY: [u8; RSS_KEY_SIZE] = [
    0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0,
    0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30, 0xf2, 0x0c,
    0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
];

/// Default hash fields per protocol slot (ena.md §6.7).
fn default_fields(proto: usize) -> RssFields {
    let l3 = RssFields::L3_SA | RssFields::L3_DA;
    match proto {
        rss_proto::TCP4 | rss_proto::UDP4 | rss_proto::TCP6 | rss_proto::UDP6 => {
            l3 | RssFields::L4_SP | RssFields::L4_DP
        }
        rss_proto::IP4 | rss_proto::IP6 | rss_proto::IP4_FRAG => l3,
        rss_proto::NOT_IP => RssFields::L2_SA | RssFields::L2_DA,
        _ => RssFields::empty(),
    }
}

const DMA_ALIGN: usize = 64;
const ENTRY_SIZE: usize = core::mem::size_of::<RssIndEntry>();

/// RSS state: key and table in host memory (they survive resets) plus the
/// DMA control buffers.
pub struct EnaRss<P: Platform> {
    key: [u8; RSS_KEY_SIZE],
    table: Option<P::Table<u16>>,
    table_buf: Option<P::Dma>,
    key_buf: P::Dma,
    input_buf: P::Dma,
    key_configurable: bool,
    /// The table in force was set by the user (ethtool -X), not filled by
    /// default: only then does it survive a queue-count change unchanged
    /// (Linux `netif_is_rxfh_configured`).
    user_table: bool,
}

impl<P: Platform> EnaRss<P> {
    /// Query the table size (GET RSS_INDIRECTION_TABLE_CONFIG) and allocate
    /// the buffers; a refusal leaves the table unconfigurable.
    pub fn new<R: RegisterBar>(
        plat: &P,
        bar0: &R,
        admin: &mut AdminQueue<P>,
    ) -> Result<Self, Error> {
        let mut rss = EnaRss {
            key: DEFAULT_RSS_KEY,
            table: None,
            table_buf: None,
            key_buf: plat.alloc_dma(core::mem::size_of::<RssHashKeyBuffer>(), DMA_ALIGN)?,
            input_buf: plat.alloc_dma(core::mem::size_of::<RssHashControl>(), DMA_ALIGN)?,
            key_configurable: false,
            user_table: false,
        };
        rss.size_table(plat, bar0, admin)?;
        Ok(rss)
    }

    fn size_table<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        admin: &mut AdminQueue<P>,
    ) -> Result<(), Error> {
        let hdr = match admin.get_feature::<_, RssIndTable>(
            plat,
            bar0,
            FeatureId::RssIndirectionTableConfig,
        ) {
            Ok(h) => h,
            Err(e @ (Error::Timeout | Error::ChannelDead)) => return Err(e),
            Err(_) => {
                self.table = None;
                self.table_buf = None;
                return Ok(());
            }
        };
        let log = hdr.max_size.min(RSS_IND_MAX_LOG_SIZE);
        if hdr.min_size > log {
            self.table = None;
            return Ok(());
        }
        let len = 1usize << log;
        if self.table.as_ref().is_some_and(|t| t.len() == len) {
            return Ok(());
        }
        self.table_buf = Some(plat.alloc_dma(len * ENTRY_SIZE, DMA_ALIGN)?);
        self.table = Some(plat.alloc_table(len, |_| 0u16)?);
        Ok(())
    }

    /// After a device reset: re-read the table size (refilling the table if
    /// it changed) and program function, key and hash input again.
    pub fn restore<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        admin: &mut AdminQueue<P>,
        num_queues: u16,
    ) -> Result<(), Error> {
        let old_len = self.table_len();
        self.size_table(plat, bar0, admin)?;
        if self.table_len() != old_len {
            self.fill_default_table(num_queues);
        }
        self.configure(plat, bar0, admin)
    }

    /// Program Toeplitz + key and the default hash input (§6.1 step 12).
    pub fn configure<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        admin: &mut AdminQueue<P>,
    ) -> Result<(), Error> {
        self.key_configurable = fatal(self.program_key(plat, bar0, admin))?.is_some();
        fatal(self.program_hash_input(plat, bar0, admin))?;
        Ok(())
    }

    fn program_key<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        admin: &mut AdminQueue<P>,
    ) -> Result<(), Error> {
        let len = self.key_buf.len() as u32;
        let cur: RssHashFunction = admin.get_feature_with_buffer(
            plat,
            bar0,
            FeatureId::RssHashFunction,
            self.key_buf.bus_addr(),
            len,
        )?;
        let toeplitz = 1u32 << RSS_HASH_FUNCTION_TOEPLITZ;
        if cur.supported_func & toeplitz == 0 {
            cn_err!(
                plat,
                "Func hash {} isn't supported by device, abort",
                RSS_HASH_FUNCTION_TOEPLITZ
            );
            return Err(Error::Unsupported);
        }
        let buf = RssHashKeyBuffer {
            key_parts: RSS_KEY_PARTS,
            reserved: 0,
            key: self.key,
        };
        self.key_buf.write_bytes(0, buf.as_bytes());
        let set = RssHashFunction {
            supported_func: 0,
            selected_func: toeplitz,
            init_val: RSS_HASH_INIT_VALUE,
        };
        admin.set_feature_with_buffer(
            plat,
            bar0,
            FeatureId::RssHashFunction,
            &set,
            self.key_buf.bus_addr(),
            len,
        )?;
        Ok(())
    }

    fn program_hash_input<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        admin: &mut AdminQueue<P>,
    ) -> Result<(), Error> {
        let len = self.input_buf.len() as u32;
        let _: RssHashInput = admin.get_feature_with_buffer(
            plat,
            bar0,
            FeatureId::RssHashInput,
            self.input_buf.bus_addr(),
            len,
        )?;
        let mut raw = [0u8; core::mem::size_of::<RssHashControl>()];
        self.input_buf.read_bytes(0, &mut raw);
        let mut ctrl = RssHashControl::read_from_bytes(&raw).map_err(|_| Error::Malformed)?;
        for proto in 0..rss_proto::NUM {
            let want = default_fields(proto).bits();
            let (Some(sup), Some(sel)) = (
                ctrl.supported.get(proto).copied(),
                ctrl.selected.get_mut(proto),
            ) else {
                continue;
            };
            if want & !sup.fields != 0 {
                cn_err!(
                    plat,
                    "Hash control doesn't support all the desire configuration. proto {:x} supported {:x} selected {:x}",
                    proto,
                    sup.fields,
                    want
                );
                return Err(Error::Unsupported);
            }
            sel.fields = want;
        }
        self.input_buf.write_bytes(0, ctrl.as_bytes());
        let set = RssHashInput {
            supported_input_sort: 0,
            enabled_input_sort: RSS_INPUT_L3_SORT | RSS_INPUT_L4_SORT,
        };
        admin.set_feature_with_buffer(
            plat,
            bar0,
            FeatureId::RssHashInput,
            &set,
            self.input_buf.bus_addr(),
            len,
        )?;
        Ok(())
    }

    /// Entry i → queue i mod `num_queues` (ena.md §6.7). The table is no
    /// longer the user's.
    pub fn fill_default_table(&mut self, num_queues: u16) {
        self.user_table = false;
        if let Some(t) = self.table.as_mut() {
            let n = usize::from(num_queues.max(1));
            for (i, e) in t.iter_mut().enumerate() {
                *e = (i % n) as u16;
            }
        }
    }

    /// Make the table fit `num_queues` before queues are (re)created: a
    /// default table is spread again over the new count (ena.md §6.7
    /// default fill), so growing the count back uses every queue; a user's
    /// table is kept unless an entry names a queue that will not exist,
    /// which falls back to the default.
    pub fn fit(&mut self, num_queues: u16) {
        if !self.user_table || self.table().iter().any(|&e| e >= num_queues) {
            self.fill_default_table(num_queues);
        }
    }

    /// True if the table in force was set by the user.
    pub fn is_user_table(&self) -> bool {
        self.user_table
    }

    /// Send the table in force (queue open, reset restore), each queue
    /// index translated to its RX CQ's device index by `rx_cq_idx`. No-op
    /// if the table is not configurable; a device that answers
    /// "unsupported" keeps its own steering (logged by the admin queue).
    pub fn push_table<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        admin: &mut AdminQueue<P>,
        rx_cq_idx: &dyn Fn(u16) -> Option<u16>,
    ) -> Result<(), Error> {
        let Some(table) = self.table.as_ref() else {
            return Ok(());
        };
        match self.send(plat, bar0, admin, table, rx_cq_idx) {
            Err(Error::Unsupported) => Ok(()),
            r => r,
        }
    }

    /// A user's table (ethtool -X): validate it against the table size
    /// and `num_queues`, send it if the queues exist (`rx_cq_idx` is
    /// `Some`) and keep it only once the device took it, so what
    /// [`EnaRss::table`] reports, and what the next open or reset sends,
    /// is what the device steers with. A device answering "unsupported"
    /// is an error here: the user asked for this table explicitly.
    pub fn apply_user_table<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        admin: &mut AdminQueue<P>,
        table: &[u16],
        num_queues: u16,
        rx_cq_idx: Option<&dyn Fn(u16) -> Option<u16>>,
    ) -> Result<(), Error> {
        self.validate_user_table(table, num_queues)?;
        if let Some(map) = rx_cq_idx {
            self.send(plat, bar0, admin, table, map)?;
        }
        if let Some(t) = self.table.as_mut() {
            // Same length (validated above); zip keeps the copy free of a panic path.
            for (d, s) in t.iter_mut().zip(table) {
                *d = *s;
            }
            self.user_table = true;
        }
        Ok(())
    }

    /// Check a user's table: the device's exact size, entries naming open
    /// queues. Nothing changes.
    pub fn validate_user_table(&self, table: &[u16], num_queues: u16) -> Result<(), Error> {
        let Some(t) = self.table.as_ref() else {
            return Err(Error::Unsupported);
        };
        cloudnic_common::rss::validate_table(table, t.len(), num_queues)?;
        Ok(())
    }

    /// SET RSS_INDIRECTION_TABLE_CONFIG with `table` (its length must be
    /// the device's table size). Every refusal is returned as is.
    fn send<R: RegisterBar>(
        &self,
        plat: &P,
        bar0: &R,
        admin: &mut AdminQueue<P>,
        table: &[u16],
        rx_cq_idx: &dyn Fn(u16) -> Option<u16>,
    ) -> Result<(), Error> {
        let Some(buf) = self.table_buf.as_ref() else {
            return Err(Error::Unsupported);
        };
        if table.len() != self.table_len() {
            return Err(ConfigError::RssTableSize {
                given: table.len() as u32,
                expected: self.table_len() as u32,
            }
            .into());
        }
        for (i, q) in table.iter().enumerate() {
            let cq_idx = rx_cq_idx(*q).ok_or(Error::InvalidConfig(ConfigError::RssTable {
                index: i as u32,
                value: u32::from(*q),
            }))?;
            buf.write_bytes(
                i * ENTRY_SIZE,
                RssIndEntry {
                    cq_idx,
                    reserved: 0,
                }
                .as_bytes(),
            );
        }
        let log = table.len().trailing_zeros() as u16;
        let hdr = RssIndTable {
            size: log,
            inline_index: RSS_IND_INLINE_INDEX_NONE,
            ..Default::default()
        };
        let len = (table.len() * ENTRY_SIZE) as u32;
        match admin.set_feature_with_buffer(
            plat,
            bar0,
            FeatureId::RssIndirectionTableConfig,
            &hdr,
            buf.bus_addr(),
            len,
        ) {
            Ok(_) => Ok(()),
            Err(e @ (Error::Timeout | Error::ChannelDead | Error::Unsupported)) => Err(e),
            Err(e) => {
                cn_err!(plat, "Cannot fill indirect table");
                Err(e)
            }
        }
    }

    /// Validate and program a new key.
    pub fn set_key<R: RegisterBar>(
        &mut self,
        plat: &P,
        bar0: &R,
        admin: &mut AdminQueue<P>,
        key: &[u8],
    ) -> Result<(), Error> {
        if !self.key_configurable {
            return Err(Error::Unsupported);
        }
        let new: [u8; RSS_KEY_SIZE] = key.try_into().map_err(|_| ConfigError::RssKeyLength {
            given: key.len() as u32,
            expected: RSS_KEY_SIZE as u32,
        })?;
        let old = self.key;
        self.key = new;
        self.program_key(plat, bar0, admin)
            .inspect_err(|_| self.key = old)
    }

    /// Current key.
    pub fn key(&self) -> &[u8; RSS_KEY_SIZE] {
        &self.key
    }
    /// Key length the device takes (0 if the key is not configurable).
    pub fn key_len(&self) -> usize {
        if self.key_configurable {
            RSS_KEY_SIZE
        } else {
            0
        }
    }
    /// Current table (queue indices); empty if not configurable.
    pub fn table(&self) -> &[u16] {
        self.table.as_deref().unwrap_or(&[])
    }
    /// Table entries (0 if not configurable).
    pub fn table_len(&self) -> usize {
        self.table().len()
    }
}

/// Admin-channel failures propagate; any other refusal means "unsupported".
fn fatal(r: Result<(), Error>) -> Result<Option<()>, Error> {
    match r {
        Ok(()) => Ok(Some(())),
        Err(e @ (Error::Timeout | Error::ChannelDead)) => Err(e),
        Err(_) => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::defs::admin::FeatureId;
    use crate::test_support::{FakeBar, FakePlat};

    #[test]
    fn init_push_and_refusal() {
        let plat = FakePlat::default();
        let bar = FakeBar::with_device(&plat);
        let mut admin = AdminQueue::new(&plat, &bar).unwrap();
        let mut rss = EnaRss::new(&plat, &bar, &mut admin).unwrap();
        assert_eq!(rss.table_len(), 128);
        rss.configure(&plat, &bar, &mut admin).unwrap();
        assert_eq!(rss.key_len(), 40);
        rss.fill_default_table(3);
        assert_eq!(&rss.table()[..4], &[0, 1, 2, 0]);
        rss.push_table(&plat, &bar, &mut admin, &|q| Some(10 + q))
            .unwrap();
        let sets: std::vec::Vec<u8> = bar.dev().sets.iter().map(|s| s.0).collect();
        assert_eq!(sets, [10, 18, 12]);
        assert!(rss.validate_user_table(&[5; 128], 3).is_err());
        assert!(rss.set_key(&plat, &bar, &mut admin, &[1; 39]).is_err());
        rss.set_key(&plat, &bar, &mut admin, &[1; 40]).unwrap();
        // Device refuses the hash function: RSS degrades, no error.
        bar.dev_mut().refuse = FeatureId::RssHashFunction.bit();
        rss.configure(&plat, &bar, &mut admin).unwrap();
        assert_eq!(rss.key_len(), 0);
        assert!(plat.logged("Feature 10 isn't supported"));
    }

    #[test]
    fn user_table_is_kept_only_once_the_device_took_it() {
        let plat = FakePlat::default();
        let bar = FakeBar::with_device(&plat);
        let mut admin = AdminQueue::new(&plat, &bar).unwrap();
        let mut rss = EnaRss::new(&plat, &bar, &mut admin).unwrap();
        rss.fill_default_table(4);
        let map = |q: u16| Some(10 + q);
        // Wrong size: both sizes in the error, nothing changes.
        assert_eq!(
            rss.apply_user_table(&plat, &bar, &mut admin, &[0; 64], 4, Some(&map)),
            Err(ConfigError::RssTableSize {
                given: 64,
                expected: 128
            }
            .into())
        );
        // The device answers "unsupported": an explicit table is an error,
        // while the table in force (open, restore) degrades quietly.
        bar.dev_mut().refuse = FeatureId::RssIndirectionTableConfig.bit();
        let user = [3u16; 128];
        assert_eq!(
            rss.apply_user_table(&plat, &bar, &mut admin, &user, 4, Some(&map)),
            Err(Error::Unsupported)
        );
        assert_eq!(&rss.table()[..4], &[0, 1, 2, 3], "refused table not kept");
        assert!(!rss.is_user_table());
        rss.push_table(&plat, &bar, &mut admin, &map).unwrap();
        bar.dev_mut().refuse = 0;
        rss.apply_user_table(&plat, &bar, &mut admin, &user, 4, Some(&map))
            .unwrap();
        assert_eq!(rss.table(), &user[..]);
        // A user table survives a queue-count change it fits; a default
        // table is spread again.
        rss.fit(4);
        assert_eq!(rss.table(), &user[..]);
        rss.fit(2);
        assert_eq!(&rss.table()[..4], &[0, 1, 0, 1]);
        rss.fit(4);
        assert_eq!(&rss.table()[..4], &[0, 1, 2, 3]);
        // Interface down: stored for the next open without a command.
        let sets = bar.dev().sets.len();
        rss.apply_user_table(&plat, &bar, &mut admin, &[1; 128], 4, None)
            .unwrap();
        assert_eq!(bar.dev().sets.len(), sets);
        assert!(rss.is_user_table());
    }
}
