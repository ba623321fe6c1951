/**
 * Tunnel bookkeeping shared by the encapsulation decoders (GRE, VXLAN, Geneve, IP-in-IP, 6in4).
 *
 * The innermost packet fills the main fields. On entering a tunnel the outer network and
 * transport headers are copied into `p.tunnel` (the outermost tunnel wins when tunnels nest;
 * `p.tunnelDepth` counts them) and the inner layers' presence bits are cleared, so the inner
 * decode writes the main fields afresh.
 */
import {
  LAYER_ICMP,
  LAYER_ICMPV6,
  LAYER_IPV4,
  LAYER_IPV6,
  LAYER_PAYLOAD,
  LAYER_TCP,
  LAYER_UDP,
  layerBit,
} from '../core/layers.ts';
import type { PacketContext } from '../core/packet.ts';

const INNER_BITS =
  layerBit(LAYER_IPV4) |
  layerBit(LAYER_IPV6) |
  layerBit(LAYER_TCP) |
  layerBit(LAYER_UDP) |
  layerBit(LAYER_ICMP) |
  layerBit(LAYER_ICMPV6) |
  layerBit(LAYER_PAYLOAD);

/**
 * Copy the current outer headers aside and clear them for the inner packet.
 * @param id VNI, GRE key or session id; -1 when the tunnel header has none.
 * @example
 * enterTunnel(p, 'vxlan', vni);
 */
export function enterTunnel(p: PacketContext, type: string, id: number): void {
  if (p.tunnelDepth === 0) {
    const t = p.tunnel;
    t.type = type;
    t.ipVersion = p.ipVersion;
    t.src4 = p.src4;
    t.dst4 = p.dst4;
    t.src6.set(p.src6);
    t.dst6.set(p.dst6);
    t.protocol = p.protocol;
    t.srcPort = p.srcPort;
    t.dstPort = p.dstPort;
    t.id = id;
  }
  p.tunnelDepth++;
  p.layers &= ~INNER_BITS;
  p.clearNetwork();
}
