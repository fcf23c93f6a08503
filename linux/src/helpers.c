// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cloudnic: the static-inline and macro parts of the netdev, BQL, sk_buff and DMA API that the
 * Rust datapath (src/net/datapath.rs) needs, as plain functions (contract: glue.h, declared
 * again in src/kapi.rs). One job each, no policy.
 */
#include <linux/dma-mapping.h>
#include <linux/etherdevice.h>
#include <linux/if_vlan.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/netdevice.h>
#include <linux/pci.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <net/ip.h>

#include "glue.h"

/* Bytes of an RX packet copied into the skb's linear part at most (headers). */
#define CN_RX_PULL 256

int cn_set_real_queues(struct net_device *nd, u16 n)
{
	int err = netif_set_real_num_tx_queues(nd, n);

	return err ?: netif_set_real_num_rx_queues(nd, n);
}

void cn_tx_disable(struct net_device *nd)
{
	netif_tx_disable(nd);
}

void cn_tx_start(struct net_device *nd)
{
	netif_tx_wake_all_queues(nd);
}

/* Forget BQL's in-flight bytes of queue @q: only when the device holds none of its packets. */
void cn_txq_reset(struct net_device *nd, u16 q)
{
	netdev_tx_reset_queue(netdev_get_tx_queue(nd, q));
}

bool cn_txq_stopped(struct net_device *nd, u16 q)
{
	return netif_tx_queue_stopped(netdev_get_tx_queue(nd, q));
}

void cn_txq_stop(struct net_device *nd, u16 q)
{
	netif_tx_stop_queue(netdev_get_tx_queue(nd, q));
	/* Pairs with the barrier in the completion path before it checks the queue. */
	smp_mb__after_atomic();
}

void cn_txq_wake(struct net_device *nd, u16 q)
{
	netif_tx_wake_queue(netdev_get_tx_queue(nd, q));
}

/* BQL accounting of a posted packet; true if the doorbell must be rung now. */
bool cn_txq_sent(struct net_device *nd, u16 q, u32 bytes)
{
	return __netdev_tx_sent_queue(netdev_get_tx_queue(nd, q), bytes, netdev_xmit_more());
}

void cn_txq_completed(struct net_device *nd, u16 q, u32 pkts, u32 bytes)
{
	netdev_tx_completed_queue(netdev_get_tx_queue(nd, q), pkts, bytes);
	smp_mb();
}

/* ---- sk_buff (TX) ---------------------------------------------------------------------------- */


void cn_skb_info(struct sk_buff *skb, struct cn_skb_info *i)
{
	memset(i, 0, sizeof(*i));
	i->data = skb->data;
	i->len = skb->len;
	i->headlen = skb_headlen(skb);
	i->nr_frags = skb_shinfo(skb)->nr_frags;
	i->gso_size = skb_is_gso(skb) ? skb_shinfo(skb)->gso_size : 0;
	i->csum_partial = skb->ip_summed == CHECKSUM_PARTIAL;
	if (!i->csum_partial && !i->gso_size)
		return;
	switch (vlan_get_protocol(skb)) {
	case htons(ETH_P_IP):
		i->l3 = 4;
		i->l4 = ip_hdr(skb)->protocol;
		i->df = !!(ip_hdr(skb)->frag_off & htons(IP_DF));
		break;
	case htons(ETH_P_IPV6):
		i->l3 = 6;
		i->l4 = ipv6_hdr(skb)->nexthdr;
		break;
	default:
		return;
	}
	i->l3_offset = skb_network_offset(skb);
	i->l3_len = skb_network_header_len(skb);
	if (i->l4 == IPPROTO_TCP)
		i->l4_len = tcp_hdrlen(skb);
	else if (i->l4 == IPPROTO_UDP)
		i->l4_len = sizeof(struct udphdr);
}

int cn_skb_linearize(struct sk_buff *skb)
{
	return skb_linearize(skb);
}


/* Map the head and every fragment of @skb; returns the number of segments or a negative
 * errno with nothing left mapped. */
int cn_skb_map(struct pci_dev *pdev, struct sk_buff *skb, struct cn_seg *segs, u32 max)
{
	struct device *dev = &pdev->dev;
	u32 n = 0, f, hl = skb_headlen(skb);

	if (skb_shinfo(skb)->nr_frags + 1 > max)
		return -E2BIG;
	if (hl) {
		dma_addr_t a = dma_map_single(dev, skb->data, hl, DMA_TO_DEVICE);

		if (dma_mapping_error(dev, a))
			return -ENOMEM;
		segs[n++] = (struct cn_seg){ .addr = a, .len = hl, .page = 0 };
	}
	for (f = 0; f < skb_shinfo(skb)->nr_frags; f++) {
		skb_frag_t *frag = &skb_shinfo(skb)->frags[f];
		u32 len = skb_frag_size(frag);
		dma_addr_t a = skb_frag_dma_map(dev, frag, 0, len, DMA_TO_DEVICE);

		if (dma_mapping_error(dev, a)) {
			while (n--) {
				if (segs[n].page)
					dma_unmap_page(dev, segs[n].addr, segs[n].len, DMA_TO_DEVICE);
				else
					dma_unmap_single(dev, segs[n].addr, segs[n].len, DMA_TO_DEVICE);
			}
			return -ENOMEM;
		}
		segs[n++] = (struct cn_seg){ .addr = a, .len = len, .page = 1 };
	}
	return n;
}

void cn_tx_unmap(struct pci_dev *pdev, const struct cn_seg *segs, u32 n)
{
	u32 i;

	for (i = 0; i < n; i++) {
		if (segs[i].page)
			dma_unmap_page(&pdev->dev, segs[i].addr, segs[i].len, DMA_TO_DEVICE);
		else
			dma_unmap_single(&pdev->dev, segs[i].addr, segs[i].len, DMA_TO_DEVICE);
	}
}

void cn_skb_free(struct sk_buff *skb, int budget)
{
	if (budget)
		napi_consume_skb(skb, budget);
	else
		dev_kfree_skb_any(skb);
}

/* ---- RX pages ---------------------------------------------------------------------------------- */

u32 cn_page_size(void)
{
	return PAGE_SIZE;
}

/* One page for the device to write into, mapped for DMA; NULL on failure. */
struct page *cn_rx_page_alloc(struct pci_dev *pdev, u64 *dma)
{
	struct page *pg = alloc_page(GFP_ATOMIC | __GFP_NOWARN);
	dma_addr_t a;

	if (!pg)
		return NULL;
	a = dma_map_page(&pdev->dev, pg, 0, PAGE_SIZE, DMA_FROM_DEVICE);
	if (dma_mapping_error(&pdev->dev, a)) {
		__free_page(pg);
		return NULL;
	}
	*dma = a;
	return pg;
}

void cn_rx_page_free(struct pci_dev *pdev, struct page *pg, u64 dma)
{
	dma_unmap_page(&pdev->dev, dma, PAGE_SIZE, DMA_FROM_DEVICE);
	__free_page(pg);
}

/* Checksum verdict, hash, queue and protocol of a received skb, then GRO. */
static void cn_rx_finish(struct net_device *nd, struct napi_struct *napi, struct sk_buff *skb,
			 u16 q, bool csum_ok, u32 hash, u32 hash_kind)
{
	if (csum_ok && (nd->features & NETIF_F_RXCSUM))
		skb->ip_summed = CHECKSUM_UNNECESSARY;
	if (hash_kind && (nd->features & NETIF_F_RXHASH))
		skb_set_hash(skb, hash, hash_kind == 2 ? PKT_HASH_TYPE_L4 : PKT_HASH_TYPE_L3);
	skb_record_rx_queue(skb, q);
	skb->protocol = eth_type_trans(skb, nd);
	napi_gro_receive(napi, skb);
}

/*
 * A packet of at most `copybreak` bytes (after NET_IP_ALIGN) in one page is copied into a
 * small skb and the page, still mapped, stays the caller's to post again (CN_RX_COPIED);
 * any other packet takes its pages into the skb as fragments (CN_RX_CONSUMED). On error
 * the pages are freed and a negative errno returned.
 */
int cn_rx_deliver(struct net_device *nd, u16 q, const struct cn_rx_frag *fr, u32 n, u32 offset,
		  u32 len, bool csum_ok, u32 hash, u32 hash_kind, u32 copybreak)
{
	struct napi_struct *napi = cn_napi_of(nd, q);
	struct device *dev = nd->dev.parent;
	struct sk_buff *skb;
	u32 i, pull;

	if (n == 1 && len >= ETH_HLEN && len + NET_IP_ALIGN <= copybreak &&
	    offset + len <= PAGE_SIZE) {
		skb = napi_alloc_skb(napi, len);
		if (likely(skb)) {
			dma_sync_single_for_cpu(dev, fr[0].dma + offset, len, DMA_FROM_DEVICE);
			skb_put_data(skb, page_address(fr[0].page) + offset, len);
			dma_sync_single_for_device(dev, fr[0].dma + offset, len, DMA_FROM_DEVICE);
			cn_rx_finish(nd, napi, skb, q, csum_ok, hash, hash_kind);
			return CN_RX_COPIED;
		}
	}
	for (i = 0; i < n; i++)
		dma_unmap_page(dev, fr[i].dma, PAGE_SIZE, DMA_FROM_DEVICE);
	skb = napi_alloc_skb(napi, CN_RX_PULL);
	if (unlikely(!skb) || n > MAX_SKB_FRAGS) {
		for (i = 0; i < n; i++)
			__free_page(fr[i].page);
		if (skb)
			dev_kfree_skb_any(skb);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		skb_add_rx_frag(skb, i, fr[i].page, i ? 0 : offset, fr[i].len, PAGE_SIZE);
	pull = eth_get_headlen(nd, page_address(fr[0].page) + offset, min_t(u32, fr[0].len, CN_RX_PULL));
	if (pull < ETH_HLEN)
		pull = min_t(u32, ETH_HLEN, len);
	if (!__pskb_pull_tail(skb, pull)) {
		dev_kfree_skb_any(skb);
		return -ENOMEM;
	}
	cn_rx_finish(nd, napi, skb, q, csum_ok, hash, hash_kind);
	return CN_RX_CONSUMED;
}
