// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * cloudnic: the netdev object on the C side.
 *
 * The kernel's Rust bindings (7.2) carry no net_device, NAPI or ethtool-ops abstraction
 * (shared/reference/rust-os.md A.1). This file fills the ops tables (each entry calls the Rust
 * side, src/net/callbacks.rs, with plain integers), owns the netdev private area (the datapath
 * lock, NAPI contexts, IRQ names, work items), and wires IRQs and work items to Rust. The
 * static-inline helpers the Rust datapath calls are in helpers.c; the contract is glue.h
 * (declared again in src/kapi.rs). Nothing here knows about ENA or MANA; every decision is
 * Rust's.
 */
#include <linux/dma-mapping.h>
#include <linux/etherdevice.h>
#include <linux/ethtool.h>
#include <linux/if_vlan.h>
#include <linux/interrupt.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/module.h>
#include <linux/netdevice.h>
#include <linux/pci.h>
#include <linux/rtnetlink.h>
#include <linux/skbuff.h>
#include <linux/tcp.h>
#include <linux/workqueue.h>
#include <net/ip.h>

#include "glue.h"

#define CN_DRV_NAME "cloudnic"
#ifndef CN_VERSION
#define CN_VERSION "unknown"
#endif

/* ---- module parameter ------------------------------------------------------------------- */

/* Log verbosity: 0 = errors, warnings and the documented info lines (default); 1 = also the
 * shared core's debug lines. Validated: anything else is refused with -EINVAL. */
static int cn_debug;
static int cn_debug_set(const char *val, const struct kernel_param *kp)
{
	int v, err = kstrtoint(val, 0, &v);

	if (err)
		return err;
	if (v < 0 || v > 1) {
		pr_err(CN_DRV_NAME ": debug=%d out of range (0..1)\n", v);
		return -EINVAL;
	}
	return param_set_int(val, kp);
}
static const struct kernel_param_ops cn_debug_ops = {
	.set = cn_debug_set,
	.get = param_get_int,
};
module_param_cb(debug, &cn_debug_ops, &cn_debug, 0644);
MODULE_PARM_DESC(debug, "0 = normal logging (default), 1 = also debug lines");

int cn_debug_level(void)
{
	return READ_ONCE(cn_debug);
}

/* ---- the netdev private area --------------------------------------------------------------- */

struct cn_priv;

struct cn_napi {
	struct napi_struct napi;
	struct cn_priv *priv;
	u16 q;
	bool enabled;
	int irq;
	char irq_name[IFNAMSIZ + 16];
};

struct cn_priv {
	void *rs;		/* the Rust NetShim */
	struct net_device *nd;
	struct pci_dev *pdev;
	spinlock_t lock;	/* the datapath lock (BH-safe); see src/net/shim.rs */
	struct work_struct mgmt_work;
	struct work_struct reset_work;
	struct delayed_work health_work;
	bool dying;
	bool registered;
	int mgmt_irq;
	char mgmt_name[IFNAMSIZ + 16];
	u16 nq;			/* NAPI contexts (= max queue pairs) */
	struct cn_napi napi[];
};

static struct cn_priv *cn_priv_of(struct net_device *nd)
{
	return netdev_priv(nd);
}

static void *cn_rs_of(struct net_device *nd)
{
	return cn_priv_of(nd)->rs;
}

/* ---- ndo ------------------------------------------------------------------------------ */

static int cn_ndo_open(struct net_device *nd)
{
	return cn_rs_open(cn_rs_of(nd));
}

static int cn_ndo_stop(struct net_device *nd)
{
	return cn_rs_stop(cn_rs_of(nd));
}

static netdev_tx_t cn_ndo_xmit(struct sk_buff *skb, struct net_device *nd)
{
	return cn_rs_xmit(cn_rs_of(nd), skb, skb_get_queue_mapping(skb)) ? NETDEV_TX_BUSY
									 : NETDEV_TX_OK;
}

static void cn_ndo_stats64(struct net_device *nd, struct rtnl_link_stats64 *s)
{
	u64 v[6] = { 0 };

	cn_rs_stats64(cn_rs_of(nd), v);
	s->rx_packets = v[0];
	s->rx_bytes = v[1];
	s->tx_packets = v[2];
	s->tx_bytes = v[3];
	s->rx_dropped = v[4];
	s->tx_dropped = v[5];
}

static int cn_ndo_change_mtu(struct net_device *nd, int mtu)
{
	int err;

	if (mtu < 0)
		return -EINVAL;
	err = cn_rs_change_mtu(cn_rs_of(nd), mtu);
	if (!err)
		WRITE_ONCE(nd->mtu, mtu);
	return err;
}

static void cn_ndo_tx_timeout(struct net_device *nd, unsigned int q)
{
	cn_rs_tx_timeout(cn_rs_of(nd), q);
}

static const struct net_device_ops cn_netdev_ops = {
	.ndo_open = cn_ndo_open,
	.ndo_stop = cn_ndo_stop,
	.ndo_start_xmit = cn_ndo_xmit,
	.ndo_get_stats64 = cn_ndo_stats64,
	.ndo_change_mtu = cn_ndo_change_mtu,
	.ndo_tx_timeout = cn_ndo_tx_timeout,
	.ndo_validate_addr = eth_validate_addr,
};

/* ---- ethtool ----------------------------------------------------------------------------- */

/* The reason the shared driver gave for refusing an ethtool request. ethtool set operations
 * run under RTNL, so one buffer serves every device. */
static char cn_msg[80];

/* Hand a refusal's reason to the netlink extended ack (ethtool prints it). */
static int cn_report(struct netlink_ext_ack *e, int err)
{
	if (err && cn_msg[0])
		NL_SET_ERR_MSG_FMT(e, "%s", cn_msg);
	cn_msg[0] = 0;
	return err;
}

static void cn_et_drvinfo(struct net_device *nd, struct ethtool_drvinfo *i)
{
	strscpy(i->driver, CN_DRV_NAME, sizeof(i->driver));
	strscpy(i->version, CN_VERSION, sizeof(i->version));
	strscpy(i->bus_info, pci_name(cn_priv_of(nd)->pdev), sizeof(i->bus_info));
}

static int cn_et_sset_count(struct net_device *nd, int set)
{
	return set == ETH_SS_STATS ? cn_rs_sset_count(cn_rs_of(nd)) : -EOPNOTSUPP;
}

static void cn_et_strings(struct net_device *nd, u32 set, u8 *buf)
{
	int n;

	if (set != ETH_SS_STATS)
		return;
	n = cn_rs_sset_count(cn_rs_of(nd));
	if (n > 0)
		cn_rs_strings(cn_rs_of(nd), buf, n);
}

static void cn_et_stats(struct net_device *nd, struct ethtool_stats *st, u64 *buf)
{
	cn_rs_stats(cn_rs_of(nd), buf, st->n_stats);
}

static void cn_et_get_ring(struct net_device *nd, struct ethtool_ringparam *r,
			   struct kernel_ethtool_ringparam *k, struct netlink_ext_ack *e)
{
	u32 v[4];

	cn_rs_rings(cn_rs_of(nd), v);
	r->tx_max_pending = v[0];
	r->rx_max_pending = v[1];
	r->tx_pending = v[2];
	r->rx_pending = v[3];
}

static int cn_et_set_ring(struct net_device *nd, struct ethtool_ringparam *r,
			  struct kernel_ethtool_ringparam *k, struct netlink_ext_ack *e)
{
	if (r->rx_mini_pending || r->rx_jumbo_pending) {
		NL_SET_ERR_MSG(e, "cloudnic: no mini or jumbo RX rings");
		return -EINVAL;
	}
	return cn_report(e, cn_rs_set_rings(cn_rs_of(nd), r->tx_pending, r->rx_pending,
					     cn_msg, sizeof(cn_msg)));
}

static void cn_et_get_channels(struct net_device *nd, struct ethtool_channels *c)
{
	u32 v[2];

	cn_rs_channels(cn_rs_of(nd), v);
	c->max_combined = v[0];
	c->combined_count = v[1];
}

static int cn_et_set_channels(struct net_device *nd, struct ethtool_channels *c)
{
	if (c->rx_count || c->tx_count || c->other_count)
		return -EINVAL;
	return cn_rs_set_channels(cn_rs_of(nd), c->combined_count);
}

static u32 cn_et_key_size(struct net_device *nd)
{
	u32 v[2];

	cn_rs_rss_sizes(cn_rs_of(nd), v);
	return v[0];
}

static u32 cn_et_indir_size(struct net_device *nd)
{
	u32 v[2];

	cn_rs_rss_sizes(cn_rs_of(nd), v);
	return v[1];
}

static u32 cn_et_rx_ring_count(struct net_device *nd)
{
	return cn_rs_rx_ring_count(cn_rs_of(nd));
}

static int cn_et_get_rxfh(struct net_device *nd, struct ethtool_rxfh_param *p)
{
	p->hfunc = ETH_RSS_HASH_TOP;
	cn_rs_get_rss(cn_rs_of(nd), p->key, p->key ? p->key_size : 0, p->indir,
		      p->indir ? p->indir_size : 0);
	return 0;
}

static int cn_et_set_rxfh(struct net_device *nd, struct ethtool_rxfh_param *p,
			  struct netlink_ext_ack *e)
{
	if (p->hfunc != ETH_RSS_HASH_NO_CHANGE && p->hfunc != ETH_RSS_HASH_TOP) {
		NL_SET_ERR_MSG(e, "cloudnic: only the Toeplitz hash function is supported");
		return -EOPNOTSUPP;
	}
	return cn_report(e, cn_rs_set_rss(cn_rs_of(nd), p->key, p->key ? p->key_size : 0, p->indir,
					   p->indir ? p->indir_size : 0, cn_msg, sizeof(cn_msg)));
}

static int cn_et_get_coalesce(struct net_device *nd, struct ethtool_coalesce *c,
			      struct kernel_ethtool_coalesce *k, struct netlink_ext_ack *e)
{
	u32 v[3];

	cn_rs_coalesce(cn_rs_of(nd), v);
	c->tx_coalesce_usecs = v[0];
	c->rx_coalesce_usecs = v[1];
	c->use_adaptive_rx_coalesce = v[2];
	return 0;
}

static int cn_et_set_coalesce(struct net_device *nd, struct ethtool_coalesce *c,
			      struct kernel_ethtool_coalesce *k, struct netlink_ext_ack *e)
{
	return cn_report(e, cn_rs_set_coalesce(cn_rs_of(nd), c->tx_coalesce_usecs,
						c->rx_coalesce_usecs, c->use_adaptive_rx_coalesce,
						cn_msg, sizeof(cn_msg)));
}

static const struct ethtool_ops cn_ethtool_ops = {
	.supported_coalesce_params = ETHTOOL_COALESCE_USECS | ETHTOOL_COALESCE_USE_ADAPTIVE_RX,
	.get_drvinfo = cn_et_drvinfo,
	.get_link = ethtool_op_get_link,
	.get_sset_count = cn_et_sset_count,
	.get_strings = cn_et_strings,
	.get_ethtool_stats = cn_et_stats,
	.get_ringparam = cn_et_get_ring,
	.set_ringparam = cn_et_set_ring,
	.get_channels = cn_et_get_channels,
	.set_channels = cn_et_set_channels,
	.get_rxfh_key_size = cn_et_key_size,
	.get_rxfh_indir_size = cn_et_indir_size,
	.get_rx_ring_count = cn_et_rx_ring_count,
	.get_rxfh = cn_et_get_rxfh,
	.set_rxfh = cn_et_set_rxfh,
	.get_coalesce = cn_et_get_coalesce,
	.set_coalesce = cn_et_set_coalesce,
};

/* ---- NAPI, IRQs, work items ----------------------------------------------------------------- */

static int cn_napi_poll(struct napi_struct *napi, int budget)
{
	struct cn_napi *n = container_of(napi, struct cn_napi, napi);

	return cn_rs_poll(n->priv->rs, n->q, budget);
}

static irqreturn_t cn_queue_isr(int irq, void *data)
{
	struct cn_napi *n = data;

	napi_schedule_irqoff(&n->napi);
	return IRQ_HANDLED;
}

static irqreturn_t cn_mgmt_isr(int irq, void *data)
{
	struct cn_priv *p = data;

	if (!READ_ONCE(p->dying))
		schedule_work(&p->mgmt_work);
	return IRQ_HANDLED;
}

static void cn_mgmt_work(struct work_struct *w)
{
	struct cn_priv *p = container_of(w, struct cn_priv, mgmt_work);

	cn_rs_mgmt(p->rs);
}

static void cn_reset_work(struct work_struct *w)
{
	struct cn_priv *p = container_of(w, struct cn_priv, reset_work);

	rtnl_lock();
	if (!READ_ONCE(p->dying))
		cn_rs_reset(p->rs);
	rtnl_unlock();
}

/* The 1 s health timer (ena.md §6.4: the Linux driver's timer service runs once a second). */
static void cn_health_work(struct work_struct *w)
{
	struct cn_priv *p = container_of(to_delayed_work(w), struct cn_priv, health_work);

	if (READ_ONCE(p->dying))
		return;
	cn_rs_health(p->rs);
	if (!READ_ONCE(p->dying))
		schedule_delayed_work(&p->health_work, HZ);
}

/* ---- helpers called by Rust ----------------------------------------------------------------- */

/* Allocate between 2 and @want MSI-X vectors (management + at least one queue pair). */
int cn_alloc_vectors(struct pci_dev *pdev, int want)
{
	return pci_alloc_irq_vectors(pdev, 2, want, PCI_IRQ_MSIX);
}

void cn_free_vectors(struct pci_dev *pdev)
{
	pci_free_irq_vectors(pdev);
}

void cn_pci_disable(struct pci_dev *pdev)
{
	pci_clear_master(pdev);
	pci_disable_device(pdev);
}

int cn_num_online_cpus(void)
{
	return num_online_cpus();
}

/* Feature bits Rust passes in (src/kapi.rs NetFeatures). */
#define CN_F_IP_CSUM	BIT(0)
#define CN_F_IPV6_CSUM	BIT(1)
#define CN_F_TSO	BIT(2)
#define CN_F_TSO6	BIT(3)
#define CN_F_RXCSUM	BIT(4)
#define CN_F_RXHASH	BIT(5)

struct net_device *cn_netdev_alloc(struct pci_dev *pdev, void *rs, u16 nq, const u8 *mac,
				   u32 min_mtu, u32 max_mtu, u32 feats)
{
	struct net_device *nd;
	struct cn_priv *p;
	netdev_features_t f = NETIF_F_SG | NETIF_F_HIGHDMA;
	u16 q;

	nd = alloc_etherdev_mqs(struct_size(p, napi, nq), nq, nq);
	if (!nd)
		return NULL;
	SET_NETDEV_DEV(nd, &pdev->dev);
	p = netdev_priv(nd);
	p->rs = rs;
	p->nd = nd;
	p->pdev = pdev;
	p->nq = nq;
	spin_lock_init(&p->lock);
	INIT_WORK(&p->mgmt_work, cn_mgmt_work);
	INIT_WORK(&p->reset_work, cn_reset_work);
	INIT_DELAYED_WORK(&p->health_work, cn_health_work);
	p->mgmt_irq = -1;

	nd->netdev_ops = &cn_netdev_ops;
	nd->ethtool_ops = &cn_ethtool_ops;
	nd->watchdog_timeo = 5 * HZ;	/* ena.md §6.4: 5 s TX timeout */
	nd->min_mtu = min_mtu;
	nd->max_mtu = max_mtu;
	eth_hw_addr_set(nd, mac);
	if (feats & CN_F_IP_CSUM)
		f |= NETIF_F_IP_CSUM;
	if (feats & CN_F_IPV6_CSUM)
		f |= NETIF_F_IPV6_CSUM;
	if (feats & CN_F_TSO)
		f |= NETIF_F_TSO;
	if (feats & CN_F_TSO6)
		f |= NETIF_F_TSO6;
	if (feats & CN_F_RXCSUM)
		f |= NETIF_F_RXCSUM;
	if (feats & CN_F_RXHASH)
		f |= NETIF_F_RXHASH;
	nd->hw_features = f;
	nd->features = f;
	nd->vlan_features = f & ~NETIF_F_RXHASH;
	nd->priv_flags |= IFF_UNICAST_FLT;

	for (q = 0; q < nq; q++) {
		p->napi[q].priv = p;
		p->napi[q].q = q;
		p->napi[q].irq = -1;
		netif_napi_add(nd, &p->napi[q].napi, cn_napi_poll);
	}
	return nd;
}

/* Request the management vector (0) and one vector per queue pair (q + 1). */
int cn_request_irqs(struct net_device *nd, u16 nq)
{
	struct cn_priv *p = cn_priv_of(nd);
	int err, irq;
	u16 q;

	irq = pci_irq_vector(p->pdev, 0);
	if (irq < 0)
		return irq;
	snprintf(p->mgmt_name, sizeof(p->mgmt_name), "cloudnic-mgmnt@%s", pci_name(p->pdev));
	err = request_irq(irq, cn_mgmt_isr, 0, p->mgmt_name, p);
	if (err)
		return err;
	p->mgmt_irq = irq;
	for (q = 0; q < nq && q < p->nq; q++) {
		struct cn_napi *n = &p->napi[q];

		irq = pci_irq_vector(p->pdev, q + 1);
		if (irq < 0)
			return irq;
		snprintf(n->irq_name, sizeof(n->irq_name), "cloudnic-q%u@%s", q,
			 pci_name(p->pdev));
		err = request_irq(irq, cn_queue_isr, 0, n->irq_name, n);
		if (err)
			return err;
		n->irq = irq;
		netif_napi_set_irq(&n->napi, irq);
	}
	return 0;
}

int cn_netdev_register(struct net_device *nd)
{
	struct cn_priv *p = cn_priv_of(nd);
	int err;

	netif_carrier_off(nd);
	err = register_netdev(nd);
	if (err)
		return err;
	p->registered = true;
	schedule_delayed_work(&p->health_work, HZ);
	return 0;
}

/* Tear everything down in the order that leaves no callback running: stop the work items
 * (they take rtnl, so outside it), unregister (ndo_stop under rtnl), release the IRQs, then
 * the NAPI contexts and the netdev. */
void cn_netdev_destroy(struct net_device *nd)
{
	struct cn_priv *p = cn_priv_of(nd);
	u16 q;

	WRITE_ONCE(p->dying, true);
	cancel_delayed_work_sync(&p->health_work);
	cancel_work_sync(&p->reset_work);
	if (p->registered)
		unregister_netdev(nd);
	if (p->mgmt_irq >= 0)
		free_irq(p->mgmt_irq, p);
	cancel_work_sync(&p->mgmt_work);
	for (q = 0; q < p->nq; q++) {
		if (p->napi[q].irq >= 0) {
			netif_napi_set_irq(&p->napi[q].napi, -1);
			free_irq(p->napi[q].irq, &p->napi[q]);
		}
		netif_napi_del(&p->napi[q].napi);
	}
	free_netdev(nd);
}

void cn_lock(struct net_device *nd)
{
	spin_lock_bh(&cn_priv_of(nd)->lock);
}

void cn_unlock(struct net_device *nd)
{
	spin_unlock_bh(&cn_priv_of(nd)->lock);
}

void cn_schedule_reset(struct net_device *nd)
{
	struct cn_priv *p = cn_priv_of(nd);

	if (!READ_ONCE(p->dying))
		schedule_work(&p->reset_work);
}

void cn_schedule_mgmt(struct net_device *nd)
{
	struct cn_priv *p = cn_priv_of(nd);

	if (!READ_ONCE(p->dying))
		schedule_work(&p->mgmt_work);
}

void cn_napi_enable(struct net_device *nd, u16 q)
{
	struct cn_napi *n = &cn_priv_of(nd)->napi[q];

	if (q < cn_priv_of(nd)->nq && !n->enabled) {
		napi_enable(&n->napi);
		n->enabled = true;
	}
}

void cn_napi_disable(struct net_device *nd, u16 q)
{
	struct cn_napi *n = &cn_priv_of(nd)->napi[q];

	if (q < cn_priv_of(nd)->nq && n->enabled) {
		napi_disable(&n->napi);
		n->enabled = false;
	}
}

void cn_napi_schedule(struct net_device *nd, u16 q)
{
	if (q < cn_priv_of(nd)->nq)
		napi_schedule(&cn_priv_of(nd)->napi[q].napi);
}

/* NAPI poll finished with @work_done < budget: true if the interrupt may be re-armed. */
bool cn_napi_complete(struct net_device *nd, u16 q, int work_done)
{
	return napi_complete_done(&cn_priv_of(nd)->napi[q].napi, work_done);
}

void cn_carrier(struct net_device *nd, bool on)
{
	if (on && !netif_carrier_ok(nd))
		netif_carrier_on(nd);
	else if (!on && netif_carrier_ok(nd))
		netif_carrier_off(nd);
}

/* The NAPI context of queue pair @q (helpers.c hands RX packets to its GRO). */
struct napi_struct *cn_napi_of(struct net_device *nd, u16 q)
{
	return &cn_priv_of(nd)->napi[q].napi;
}
