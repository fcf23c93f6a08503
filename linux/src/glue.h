/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The contract between the C side of cloudnic.ko (netdev.c, helpers.c) and its Rust side.
 * Rust declares the same functions and structures in src/kapi.rs (cn_*) and implements
 * cn_rs_* in src/net/callbacks.rs; keep them in sync.
 */
#ifndef CLOUDNIC_GLUE_H
#define CLOUDNIC_GLUE_H

#include <linux/types.h>

struct net_device;
struct page;
struct pci_dev;
struct sk_buff;

/* What the Rust side needs to know about a TX skb (src/kapi.rs SkbInfo). */
struct cn_skb_info {
	const u8 *data;
	u32 len;
	u32 headlen;
	u32 nr_frags;
	u32 gso_size;
	u16 l3_offset;
	u16 l3_len;
	u16 l4_len;
	u8 l3;		/* 0 other, 4, 6 */
	u8 l4;		/* IPPROTO_TCP / IPPROTO_UDP / 0 */
	u8 csum_partial;
	u8 df;
};

/* One DMA segment (src/kapi.rs DmaSeg). */
struct cn_seg {
	u64 addr;
	u32 len;
	u32 page;	/* 1 if mapped with dma_map_page (a fragment) */
};

/* One received buffer (src/kapi.rs RxFrag). */
struct cn_rx_frag {
	struct page *page;
	u64 dma;
	u32 len;
};

/* Implemented in netdev.c and helpers.c, called from Rust. */
int cn_debug_level(void);
int cn_alloc_vectors(struct pci_dev *pdev, int want);
void cn_free_vectors(struct pci_dev *pdev);
void cn_pci_disable(struct pci_dev *pdev);
int cn_num_online_cpus(void);
struct net_device *cn_netdev_alloc(struct pci_dev *pdev, void *rs, u16 nq, const u8 *mac, u32 min_mtu, u32 max_mtu, u32 feats);
int cn_request_irqs(struct net_device *nd, u16 nq);
int cn_netdev_register(struct net_device *nd);
void cn_netdev_destroy(struct net_device *nd);
void cn_lock(struct net_device *nd);
void cn_unlock(struct net_device *nd);
void cn_schedule_reset(struct net_device *nd);
void cn_schedule_mgmt(struct net_device *nd);
void cn_napi_enable(struct net_device *nd, u16 q);
void cn_napi_disable(struct net_device *nd, u16 q);
void cn_napi_schedule(struct net_device *nd, u16 q);
bool cn_napi_complete(struct net_device *nd, u16 q, int work_done);
void cn_carrier(struct net_device *nd, bool on);
int cn_set_real_queues(struct net_device *nd, u16 n);
void cn_tx_disable(struct net_device *nd);
void cn_tx_start(struct net_device *nd);
void cn_txq_reset(struct net_device *nd, u16 q);
bool cn_txq_stopped(struct net_device *nd, u16 q);
void cn_txq_stop(struct net_device *nd, u16 q);
void cn_txq_wake(struct net_device *nd, u16 q);
bool cn_txq_sent(struct net_device *nd, u16 q, u32 bytes);
void cn_txq_completed(struct net_device *nd, u16 q, u32 pkts, u32 bytes);
void cn_skb_info(struct sk_buff *skb, struct cn_skb_info *i);
int cn_skb_linearize(struct sk_buff *skb);
int cn_skb_map(struct pci_dev *pdev, struct sk_buff *skb, struct cn_seg *segs, u32 max);
void cn_tx_unmap(struct pci_dev *pdev, const struct cn_seg *segs, u32 n);
void cn_skb_free(struct sk_buff *skb, int budget);
u32 cn_page_size(void);
struct page *cn_rx_page_alloc(struct pci_dev *pdev, u64 *dma);
void cn_rx_page_free(struct pci_dev *pdev, struct page *pg, u64 dma);
/* cn_rx_deliver results (src/kapi.rs RxDelivery). */
#define CN_RX_CONSUMED 0	/* the pages went into the skb */
#define CN_RX_COPIED 1		/* copied out (copybreak): the page is still the caller's, mapped */
int cn_rx_deliver(struct net_device *nd, u16 q, const struct cn_rx_frag *fr, u32 n, u32 offset, u32 len, bool csum_ok, u32 hash, u32 hash_kind, u32 copybreak);

/* Between the two C files. */
struct napi_struct *cn_napi_of(struct net_device *nd, u16 q);

/* Callbacks implemented in Rust (src/net/callbacks.rs), called from netdev.c. */
int cn_rs_open(void *rs);
int cn_rs_stop(void *rs);
int cn_rs_xmit(void *rs, struct sk_buff *skb, u16 q);
int cn_rs_poll(void *rs, u16 q, int budget);
void cn_rs_stats64(void *rs, u64 *out);
int cn_rs_change_mtu(void *rs, u32 mtu);
void cn_rs_tx_timeout(void *rs, u16 q);
void cn_rs_mgmt(void *rs);
void cn_rs_health(void *rs);
void cn_rs_reset(void *rs);
int cn_rs_sset_count(void *rs);
void cn_rs_strings(void *rs, u8 *buf, u32 n);
void cn_rs_stats(void *rs, u64 *buf, u32 n);
void cn_rs_rings(void *rs, u32 *out);
int cn_rs_set_rings(void *rs, u32 tx, u32 rx, char *msg, u32 msg_len);
void cn_rs_channels(void *rs, u32 *out);
int cn_rs_set_channels(void *rs, u32 combined);
void cn_rs_rss_sizes(void *rs, u32 *out);
void cn_rs_get_rss(void *rs, u8 *key, u32 key_len, u32 *indir, u32 indir_len);
int cn_rs_set_rss(void *rs, const u8 *key, u32 key_len, const u32 *indir, u32 indir_len,
		  char *msg, u32 msg_len);
void cn_rs_coalesce(void *rs, u32 *out);
int cn_rs_set_coalesce(void *rs, u32 tx_usecs, u32 rx_usecs, u32 adaptive_rx, char *msg,
		       u32 msg_len);
u32 cn_rs_rx_ring_count(void *rs);

#endif
