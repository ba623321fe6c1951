import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { randomChunkSizes } from '../../../test/helpers/random.ts';
import { isPipelineError, TruncatedCaptureError } from '../../core/errors.ts';
import type { Frame } from '../../core/source.ts';
import { MAX_RECORD_BYTES } from '../../core/source.ts';
import { isPcapMagic, PCAP_MAGIC_NSEC, PCAP_MAGIC_USEC, PcapReader } from './pcap-reader.ts';

const ROOT = new URL('../../../', import.meta.url);
const CORPUS = new URL('../shared/corpus/', ROOT);

// ---- corpus ----

/** Every classic pcap capture of the manifest (format `pcap LE usec` and so on). A missing corpus fails here. */
function pcapCorpus(): string[] {
  const rows = readFileSync(new URL('MANIFEST.tsv', CORPUS), 'utf8').split('\n').slice(1);
  return rows
    .map((r) => r.split('\t'))
    .filter((c) => c[4]?.startsWith('pcap '))
    .map((c) => c[0]!);
}

const corpusFile = (name: string): Uint8Array => new Uint8Array(readFileSync(new URL(name, CORPUS)));

/**
 * Per file, from tshark 4.0.17: packets (= `capinfos -c`), the link-type field and snaplen of
 * the file header (tshark's pcap file dissector, `-X 'read_format:MIME Files Format'`), and the
 * SHA-256 of the lines of `tshark -r F -T fields -e frame.time_epoch -e frame.cap_len
 * -e frame.len`, joined by '\n'.
 */
const EXPECTED: Record<string, [packets: number, linkTypeField: number, snaplen: number, sha256: string]> = {
  'ppp__microsecs.pcap': [2, 1, 65536, '419e0caf2caa6eeaa586dd75763e07749e76b07fc32e7cef3f947e03f7d3fd67'],
  'ppp__nanosecs.pcap': [2, 1, 65536, 'bd4d1b5926b72a98fd0da44004c54c579d816b37e82b855948225ab3be9e7306'],
  'ppp__nanosecs_big_endian.pcap': [10, 1, 262144, 'eabf92b7cdaa0546f20119aa5bf5a681370a13537f650a3b0231b2be56322711'],
  'ppp__microsecs_big_endian_netlink.pcap': [
    13,
    253,
    65535,
    'cb0c0be2c54d2ef1a4cc7b822f6ff769099333ad066cf0d5207f66253bd470a9',
  ],
  'tcpdump__pptp_big_endian.pcap': [23, 1, 65535, 'aa4bdf159cd8b82c11feb160b1536f96846386f4cfb4cec5d3f7eb8f59fcaec9'],
  'zeek__smb_big_endian.cap': [9, 1, 2000, '858e1fc6fcb8f9394c72913f22398679adebe79236a1dc18868d5716745589be'],
  'tcpdump__tcp_handshake_nano_sll.pcap': [
    3,
    113,
    262144,
    'e36bec95e9ed1e4a0112baa16d2db9f3cc2afbe3703f58527c992c02c4d74973',
  ],
  'zeek__nsec_http_get_to_ssh.pcap': [9, 1, 2000, '12214a7fe1629f9d7cead093b882a10d26312a3b0825c2cc7043c71874020ee1'],
  'zeek__vntag_nsec.pcap': [3, 1, 65535, 'da8cacb36104decabbef22e3e1c142b389868c82caae7386930b56ddf425fad7'],
  'tcpdump__time_2038.pcap': [1, 1, 262144, '93a8efbe86e1df9bcdcee92e46da9a3ea1dc04b7a5d8606873df24a8249cc629'],
  'tcpdump__timestamp_invalid_micro.pcap': [
    3,
    113,
    262144,
    '0ec97962d2b0bb6ca79e47a487af94b4352a216d0e6bddb20a939aab2a5436b6',
  ],
  'tcpdump__empty.pcap': [0, 1, 262144, 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
  'libpcap__pcap_invalid_version_1.pcap': [
    0,
    1,
    65535,
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  ],
  'libpcap__linktype_reserved_field_not_zero.pcap': [
    0,
    3145728,
    8400944,
    'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  ],
  'dpkt__file_cut_mid_packet.pcap': [1, 1, 200, 'ba477779edabcbb9250d2f739273bf8bf3095b90f802ff36439e4180d1a90062'],
  'ppp__sll2.pcap': [3, 276, 262144, 'ef0ce22d925d20ae90f79e0c2aaa2f0ff12a550859a69ab066a986c9fbc3f173'],
  'zeek__sll2_arp_icmp_icmpv6.pcap': [
    6,
    276,
    262144,
    '520070183a05b573ed18cfb57d5ce802f68a040318e22f0f099275584e4dfa6a',
  ],
  'ppp__sll2_llc.pcap': [1, 276, 262144, 'b31c470a3f4f43d34e18a689a16f3aa707b24933211b2876255f1006138d061b'],
  'ppp__sll_mixed.pcap': [518, 113, 65535, '0f06cffaabe3b474dbbbad1635db1e0947f1ef05d824190ad382f246fadce9f3'],
  'zeek__sll_arp.pcap': [12, 113, 262144, '550eff37329f9be16a74080464bf195b87ec1f2d16676deb39f40e085d3c40f6'],
  'ppp__raw_ip_v4_v6.pcap': [100, 101, 262144, '062514cd0bb347a2b413f89384d391cc08e5c570dae5b3837a2307f42e991503'],
  'ppp__linktype_ipv4_228.pcap': [2, 228, 262144, 'c548d6f9f8115a7fed8594a9b8b67ff499396c25c94e2360e6d9ce69be70a236'],
  'ppp__linktype_ipv6_229.pcap': [1, 229, 65535, 'f759ccde8eff856216d48db459dba8223606603e548dbddf3f88ed7e4e062a28'],
  'tcpdump__linktype_ipv4_invalid.pcap': [
    1,
    228,
    65535,
    'e1ac567ee7a92eb4163f6e93b9eae633ecc04e0fc79a853ddf17b24c360ce3b0',
  ],
  'ppp__null_loopback.pcap': [3, 0, 262144, 'adc93d9433f967d26dab259163fc982580ebabc12867e48e9415d2b33bd5e13f'],
  'gopacket__null_loopback_ipv6_http.pcap': [
    24,
    0,
    65535,
    '84cf215a011b86294286c0e35d26685ba1860f9e14e36046dc14ceabbac86e18',
  ],
  'tcpdump__nflog_dns.pcap': [4, 239, 65535, 'c79b620aa5c7fcb82acba5c878114dc7b998eceb2440df625ad9c552bfd4c91b'],
  'zeek__radiotap_80211.pcap': [3, 127, 262144, '217a67e182811e22ee0bc66fd8d86bef86b365a1009ef25bb1d6dabc0a839534'],
  'tcpdump__unsupported_linktype_160.pcap': [
    1,
    160,
    102400,
    '6a5e38449ea2d7c0ccf766bc16390be58c67aa512237a812d9d795184dc5def9',
  ],
  'ppp__vlan_and_qinq.pcap': [26, 1, 65535, 'd4076bcca6c1840ca43c480b5c716644b34c03588ef7f90bc578424f333d4a0a'],
  'zeek__qinq.pcap': [5, 1, 65535, '6540ad31f0594586ac7d35875c543f478c5a8e258923885f2bee67df682646c8'],
  'zeek__vlan_qinqinq.pcap': [14, 1, 65535, '22ea39eb46c00afa3576833fd86c9a623809dafe6b2e98152437e3091c61b783'],
  'zeek__pppoe_over_qinq.pcap': [86, 1, 65536, '5f1bcd57d31b0cfedba8d23884bf4293e91e69ea8605c667d66a722beeae6ae3'],
  'zeek__mpls_in_vlan.pcap': [3, 1, 9000, 'a5613048e9512cc53ff752f50f22c540d9d1472d76d10c573c9cd328ce43df50'],
  'ppp__ipv4_options.pcap': [7, 1, 262144, 'abcf70addf180b7a155a48d22d8fbe197659a85114486d746e2fa59fe761f214'],
  'ppp__ipv4_fragments.pcap': [53, 1, 65535, '98cbab53b189de77a44c0ff97f49cdefcf4317e62fb0ecf950c12853159c2c7c'],
  'ppp__ipv4_frag_with_eth_padding.pcap': [
    8,
    1,
    65536,
    'eb6ec04634e790084ae54094bda0995e24172fd41e7f1272c4963d9416a6ee2c',
  ],
  'zeek__ipv4_fragmented_1.pcap': [3, 1, 2000, '5ce971a3702f638d9553714f1b4a110d60fd0c7a2cbdfa54bf6954b63a3efdb0'],
  'ppp__ipv6_fragments.pcap': [36, 1, 65536, '0a587b5c9339dedcbbf7c037f2cc0a64a147304d52d2b8c17d88cd4542985aed'],
  'zeek__ipv6_ext_chain_atomic_frag.pcap': [
    38,
    1,
    1518,
    '21ad0afb1a8c095b7d91ac8d2199a2feaa001cf5fb0b0d9a2a24114d40ac11ba',
  ],
  'zeek__ipv6_fragmented_dns.pcap': [8, 1, 65535, '9e197cf8ef034f965b535fd40aa9103a30af01363526a5ea24bc5396ee20e304'],
  'libpcap__ipv6_all_ext_headers.pcap': [
    1,
    1,
    65535,
    '254bc477ea0cd93e1445df0fba86ad26259b3518efd35837c3602be16795c1db',
  ],
  'tcpdump__ipv6_srv6_srh.pcap': [1, 1, 262144, 'b3ded2121cf6ba4cecb8d29ae484a024968ce1a02a1e34fcfd812c6c7e31c2b5'],
  'tcpdump__ipv6_jumbogram.pcap': [1, 1, 262144, '14a1c59867f5418ef988d63831aeb7cad1f5b750a2add7bf659ec413b6894cdd'],
  'ppp__tcp_options.pcap': [1, 1, 65535, '56032079f0051f1d5319a9f418008df8a7743de4d403057a6b647d20c70cbf37'],
  'zeek__tcp_options.pcap': [4, 1, 65535, 'd0107a5243bbef90ff60856ff0c5b86ac24090934113bd71033d159fd655ba95'],
  'zeek__tcp_option_sack.pcap': [4, 1, 65535, '33307e250e447d86514dd8a7357f4be1b8fefaa691dbd0310a5cdbf1af827dab'],
  'zeek__tcp_fast_open.pcap': [16, 1, 262144, '58de2fad0b63c7c88003f8fc6b2b2fe11d80729f70982ebbc602a9918ec24b0b'],
  'tcpdump__mptcp_v1.pcap': [20, 113, 65535, '76fcc17d97d1e94d62235cfe7afa0ae2a273dd99568bb23bf5ece99370970c41'],
  'tcpdump__tcp_all_flags.pcap': [1, 1, 32767, 'de40fd201b59199ed12cc96d427b8527946a7990ae8bb76d2582eac7ddef2802'],
  'ppp__tcp_stream_fin_rst.pcap': [13, 1, 262144, '0168b382a831f44f354eac039c78084eedec8c5f82e735dd3f10f00c3ffccf5d'],
  'ppp__tcp_unidirectional_missing_pkt.pcap': [
    14,
    1,
    262144,
    'c91d87f9f1ae1490b7ccab3337ce5b6c3fc7a4b9f9b8ab2909c7d9a7f35eaf98',
  ],
  'ppp__four_ipv6_http_streams.pcap': [
    81,
    12,
    65535,
    'fab885b4d8fb29da2a0a8bd4667403a4bd403252974d350737e25a23d79d5709',
  ],
  'zeek__icmp_5_pings.pcap': [10, 1, 262144, '8d0fa1d264858496d1cef6c1f88cc26eb87d3f33608ab9f67de611c45b6b8eae'],
  'zeek__icmp_unreach_embedded_udp.pcap': [
    1,
    1,
    65535,
    'a793cb35dc1cee2bff8c589251ebc818baf5e31ce7d1198279054a10cfd86e06',
  ],
  'zeek__icmpv6_nd_options.pcap': [20, 1, 8192, '104040fbf8f27589c293c6638799a155f619b6bd38b7e9210f0f1553c300deed'],
  'zeek__icmpv6_router_advert.pcap': [1, 1, 1600, '62a9589edc1c7d4bcd32910f190d855f6cb8cd22095401e7694787ee668a7f11'],
  'zeek__icmpv6_packet_too_big.pcap': [1, 1, 1600, 'a5c6ec0bf4e42d530a2a9113b7ea7341a155ba7fa5315610201fd899f9af454a'],
  'tcpdump__icmpv6_mix.pcap': [5, 1, 65535, 'e71728ceab273ed8b93dead24be8235f8df54930327910a28a5d02e2971d2904'],
  'zeek__arp_who_has.pcap': [2, 1, 65535, '8c0bf8d34e7e2bf2dcc0eda70f68a4ab7169bbbc58495ae13a9e5e721e9773af'],
  'ppp__arp_reply.pcap': [1, 1, 65535, 'f9ff837cbce67092bc34c7e4b413f03a823c82fa1f88f13b8c2122e9cd7d4bcd'],
  'ppp__dns_many.pcap': [464, 1, 262144, '44df86641011207d1509140ddb739e941165cfb2257797d06bf5cdbdb6f1de83'],
  'ppp__dns_mx.pcap': [1, 1, 65536, 'ae27e4a2a20bed445794c83f1e0311e9741d4e2ba73314b944fe10c381188407'],
  'zeek__dns_txt_cname.pcap': [2, 1, 65535, '61f02f30e6cc8664bff7912288272d56f67b3ef244e07853e371b51f6f9595b3'],
  'zeek__dns_dnssec_nsec3.pcap': [2, 1, 262144, 'cbb66979bc06115cff097f194b0c2fafa738c18f7f4166d2299af8e6aaf3756c'],
  'zeek__dns_edns_ecs.pcap': [89, 1, 262144, 'afd570c115684d402090000935c704850fdcd9977a87b719c3bab942a0859714'],
  'tcpdump__dns_edns_opts.pcap': [42, 1, 65535, 'ab83a1517ba1faf0d39d804dbc922160f71e61e9c94436a67164736d78a9e11e'],
  'tcpdump__dns_over_tcp.pcap': [11, 1, 262144, '23d9f29289165b0240e3f56fef50da0bffa3726beb729557379885c4457daf03'],
  'tcpdump__dns_compression_loop.pcap': [
    1,
    1,
    1600,
    '26f32e7bb2f79e2a0f00eb097223c37ea76a0510ea9242d877cdb802b149d1d9',
  ],
  'zeek__dns_max_compression_depth.pcap': [
    1,
    1,
    65535,
    '192dd80362b3b30e70f461726ea74d9adcb9ff8be0f77f894c4b1e9a98418cfd',
  ],
  'dpkt__dns_snaplen_truncated.pcap': [
    1,
    1,
    262144,
    'ceef242576df71c3610953b11598e1c20745bb842e1bbf6ac3a56d734d0235c5',
  ],
  'ppp__http_two_requests.pcap': [2, 1, 262144, '7a7f07c3b838c3f79ec4bbbc83b5db31c97295d4a582d000cedea2c8e7248fbd'],
  'ppp__http_three_streams.pcap': [28, 1, 65535, 'f948ed06bd2e9b7c2a8d46c5ea05ed6059ea7c18d267dad0af822783e060ba79'],
  'ppp__http_4k_requests.pcap': [385, 1, 262144, '6917132d2b89935a927a6ddcc245819440c41a584555837ce4f22eadf56efd2b'],
  'ppp__http_650_responses.pcap': [682, 1, 262144, '1c3d44db37308f15df7a8df2bab3a0b93e34418684e08a4f8bc1193834853a61'],
  'dpkt__http.pcap': [43, 1, 65535, '459b299c941139630746672631d146ce529a807aa29003a7651733e71d7e3b87'],
  'zeek__http_pipelined.pcap': [49, 1, 65535, '30bd618f1e3ce4f53aee83b10ae44a4027a8167eacc8bc570d1764a04c1a814e'],
  'dpkt__pppoe_ipv6_http_dns.pcap': [62, 1, 32767, 'ebf65814e831cb9541fbb11adf0f013771311e9b4acb527b6199a637dd415c16'],
  'ppp__tls_client_hello_sni.pcap': [1, 1, 262144, '130b6bdea39b705ae18ae4ac055cf547bb55e1776fa760b75d8840cdd44b2366'],
  'ppp__tls_client_hello_grease.pcap': [
    1,
    1,
    262144,
    '973e89fba0bde0c56c1a36ebc5b06f05de522f2d7d926bb94ae168362c58dbdb',
  ],
  'ppp__tls13_v4_v6.pcap': [4, 1, 65535, 'af1fd74d19fd7d9618f1369afe64eb3f465c8fb30f82d086bd233833bf1202b5'],
  'zeek__tls12_session.pcap': [22, 1, 65535, 'e05b8db2cb44550cb5f5fcceb850799ac3dc55674129da9e7c0590817f90fac7'],
  'zeek__quic_chromium.pcap': [19, 1, 65535, '890195d07a4b54d54859bc97c6527187d1ff9fd743a4c1e3efa97e413b5dbad6'],
  'ppp__gre.cap': [28, 1, 65535, 'b7a226c12b6890f91b6e0483f45cb8cc7db5b73ec97b11dad02479967e4d4f92'],
  'zeek__gre_sample.pcap': [40, 1, 1500, '974d65e6f5c1669577e9fca341d832229d89256762c82176d46b64ba386d8443'],
  'tcpdump__gre_various.pcap': [100, 1, 262144, '984225172eef97b8af8e3168a0fba1712d27744bf7d783da5696a60c2a16b2b5'],
  'zeek__gre_within_gre.pcap': [628, 1, 65535, '08a02e3111166edf151c6fa7d8f57ec0d7f5c89c8c67aa767ac0351025d62bbc'],
  'zeek__erspan_ii.pcap': [4, 1, 262144, '12c1daebebfdff40cb1915c22f44360ac667ebdc893d5594bfda238c2662e40c'],
  'zeek__vxlan.pcap': [10, 1, 262144, 'd423fb6fb27abcc1c7e33a17b62897bedd9a62d7926346def3de438ebd89a3ce'],
  'ppp__vxlan_single.pcap': [1, 1, 16777216, '3bdb4c79e71848b81d262298dd3ae3aa22d2882e06d1d0817eecc92a06d95b8a'],
  'zeek__geneve.pcap': [6, 1, 65535, '182c77943efd4188a09592cdf31ab8adf6443a906a24ca5b5b5aa1052e9dcf4e'],
  'zeek__ipip_4in4.pcap': [1, 1, 32767, '3971e3b354da8df301a3ed011ae1e6169befe499e312862215ee48403373a258'],
  'zeek__ipip_6in4.pcap': [1, 1, 32767, 'f01ccdd6cbf6a6032142d7be0118153952a230b46de49a37dc45c25ea9bdc5b2'],
  'zeek__teredo.pcap': [78, 1, 65535, '5ec06828a3b3d20210d9b9bdaa776e9104cf0df6e129ae07761957a6dbf00856'],
  'ppp__mpls.pcap': [2, 1, 2048, 'f8ceadb27adc60e7415efe8ef174348f2fa2e49b34ff71f97ac970ac42fd40f4'],
  'ppp__gtp_u.pcap': [102, 1, 65535, '0de2ccec9e74c68bbbbf9c1d97c693766778d8cf72596ee5c1403a176a30ae44'],
  'zeek__trunc_ip4.pcap': [1, 1, 1600, 'fa99d479e18e041cee2843ad5e71c97f27d6a33fa29bfd0bc28671b0253e8b88'],
  'zeek__trunc_ip6.pcap': [1, 1, 1600, 'f2e35d3155d6e82857ea78782a308c3cee2defd1370b915d1b6cabd6393c2bbc'],
  'zeek__trunc_hdr.pcap': [1, 1, 1, 'cd058bfad511df8b8daac55840b4b30331593c0975ade2230faa9436a6cb9c72'],
  'zeek__snaplen68_tcp_truncated_header.pcap': [
    24,
    1,
    68,
    '9b7793851a9a27a84682d3aa152e2ba931d1f2cb549d37248d7b9e4feeffe126',
  ],
  'zeek__snaplen96_http.pcap': [12, 1, 96, '5e4c872d119a901dd50193c8cfed8c97ad4b4ce1aef0e56c8e2aa7a5b3020d5c'],
  'tcpdump__snaplen256_quic_null.pcap': [
    18,
    0,
    256,
    '2aa5aee671eb6a3fa8806ba445d50507aa861c56d60ed858de34f83b1f8cfec1',
  ],
  'tcpdump__ipv4_invalid_ihl.pcap': [1, 1, 262144, '9e1953895122636163da298b01adc972fc50a9ad55623368bb3447c966f9dcbb'],
  'tcpdump__ipv4_invalid_total_length.pcap': [
    1,
    1,
    262144,
    '9e1953895122636163da298b01adc972fc50a9ad55623368bb3447c966f9dcbb',
  ],
  'tcpdump__ipv6_invalid_length.pcap': [1, 1, 53, '38bbc49ed66c101c8d5ca57012cc80f62e30f8e2d14c37e0184ed50b9ba70299'],
  'tcpdump__ipv6_bad_version.pcap': [4, 1, 65535, '7a5da72a66ea8343418e06d6cd6fbd554ab6d7178fe75a7514828a520ee17a6b'],
  'tcpdump__ipv6_frag_fuzzed.pcap': [1, 1, 60, '208aa8d48d7d4a4610557b0c6d8f512f3b092c6c142f5fa678a74124a94f2e33'],
  'tcpdump__ipv6_next_header_fuzzed.pcap': [
    1,
    805306597,
    48,
    'a4712b31e60eeabd4c01c41ce73b7f513cc5aae3f31da50b3986bd09c1598792',
  ],
  'tcpdump__tcp_header_fuzzed.pcap': [
    1,
    805306369,
    46,
    '76523119561b8f87c43a866db8c3bde17f6b87a70f4891e81d66c65b481b255d',
  ],
  'tcpdump__udp_length_fuzzed.pcap': [
    1,
    805306369,
    38,
    '10ffa52ae9d1a12f74d0b65e880c40b716c76bed6fac94bd8106c3f572e1aa04',
  ],
  'tcpdump__arp_fuzzed.pcap': [2282, 1, 65535, 'f62c35aa04aba2ff68a2502012da3cd3533e9d76b98f1458ab227b6dd70a5a8f'],
  'tcpdump__gre_fuzzed.pcap': [2, 805306369, 304, '4b694a799da697804a63c8929dd93396bb9ec217cfeb7c1e4e0dbe92808f296f'],
  'tcpdump__ipv4_ts_option_fuzzed.pcap': [1, 1, 50, '60418a6f221c3ce2ab7bc33177e0fc45578d2734e1e062691b9d8d179ee1fe2b'],
  'tcpdump__dns_bad_label.pcap': [1, 1, 65535, '3ab45bb93adcd9b4cf9eac4aa307ec57803a2770186a4c708c2fd0dc215ba87d'],
  'ppp__tcp_malformed.pcap': [2, 1, 65536, '087ff4b3ab2b0e9dc06d586ca54de02f5df50f3074afa1cd6bcd3749730904cd'],
  'ppp__tls_malformed.pcap': [1, 1, 65535, '34455bd6cea650bb50c563f4d4973cb43f42d3429e8b2f77883300afd6fc8d28'],
  'zeek__ipv4_bogus_header_len.pcap': [1, 1, 65536, '5748ee5c7fab77ebe6579479db30211b36cb85910337bd9c7772898b4c1b2a8b'],
  'zeek__ipv4_tcp_bad_checksum.pcap': [1, 1, 1600, '23508fe48f0e880bb41df710656e37c1b840705767526221cc489250b73ed5e6'],
  'zeek__ipv6_udp_bad_checksum.pcap': [1, 1, 1600, '76a644b3240b50d47afd4e5e205ccb547d006857244bb604208c8712a36e3ce0'],
  'ppp__LARGE_example_mixed.pcap': [4631, 1, 65535, '8ac3341fb97cb11f7cbb29b92ea47f9b5a86cb6cdc4f7fb42e655a1a45bc7a49'],
  'ppp__LARGE_many_protocols.pcap': [
    4709,
    1,
    262144,
    '3c04a392cab787ab29ebf3382797adc62418fbf2dc4cef5aba7807d4f8ff8171',
  ],
  'ppp__LARGE_tls_v4_v6.pcap': [7451, 1, 262144, 'ab41fc8e8d3f34162d1d159f6fa0839b7c8f8af35be75a6d62dbf63da0732b0f'],
  'ppp__LARGE_ip_fragments.pcap': [3000, 1, 65535, '971cf8cbb1fa6e31daa73d6ff6fa0970a1d8544139bef1392a5db21f47e06f97'],
  'zeek__LARGE_ssh.pcap': [1797, 1, 65535, 'c57f198a9e98dd5d94db5bb445914f811c7b94a00ba2d11a0f52c2555d05aef0'],
  'ndpi__cicids2017_thursday_webattack_sqlinj.pcap': [
    94,
    1,
    262144,
    'c24be839a89599565157702a17232bb44cc8b3aacc312ba13db35c1401595d32',
  ],
};

/**
 * Where the reader departs from tshark on purpose (record number -> [ours, tshark's] time).
 * tcpdump__timestamp_invalid_micro holds µs fractions of 1000000 and 2147483648: the reader
 * carries whole seconds into the seconds field; tshark prints the fraction as is, or wraps it.
 */
const DEPARTURES: Record<string, Record<number, [ours: string, tshark: string]>> = {
  'tcpdump__timestamp_invalid_micro.pcap': {
    2: ['1418145371.000000000', '1418145370.1000000000'],
    3: ['1418147517.483648000', '1418145370.000000000'],
  },
};

// ---- running the reader ----

type Chunking = 'whole' | number | (() => number);

const pad9 = (n: number): string => String(n).padStart(9, '0');
const time = (f: Frame): string => `${f.tsSec}.${pad9(f.tsNanos)}`;

interface Run {
  /** Comparable with tshark's `time_epoch  cap_len  len`. */
  lines: string[];
  /** The rest of each frame: link type, digits, interface, comment, digest of the bytes. */
  detail: string[];
  error: unknown;
  reader: PcapReader;
}

function run(bytes: Uint8Array, chunking: Chunking = 'whole'): Run {
  const lines: string[] = [];
  const detail: string[] = [];
  const reader = new PcapReader((f: Frame) => {
    lines.push(`${time(f)}\t${f.caplen}\t${f.wirelen}`);
    const data = createHash('sha256')
      .update(f.buf.subarray(f.off, f.off + f.caplen))
      .digest('hex');
    detail.push(`${f.linkType} ${f.tsDigits} ${f.interfaceId} ${JSON.stringify(f.comment)} ${data.slice(0, 16)}`);
  });
  let error: unknown = null;
  try {
    if (chunking === 'whole') reader.push(bytes);
    else {
      const next = typeof chunking === 'number' ? () => chunking : chunking;
      for (let o = 0; o < bytes.length; ) {
        const n = Math.min(next(), bytes.length - o);
        // A fresh copy each time: the reader must not keep chunks past `push`.
        reader.push(bytes.slice(o, o + n));
        o += n;
      }
    }
    reader.end();
  } catch (err) {
    error = err;
  }
  return { lines, detail, error, reader };
}

const sha256 = (lines: string[]): string => createHash('sha256').update(lines.join('\n')).digest('hex');

/** Our lines with the deliberate departures put back to tshark's values. */
function asTshark(name: string, lines: string[]): string[] {
  const dep = DEPARTURES[name] ?? {};
  return lines.map((l, i) => {
    const d = dep[i + 1];
    if (d === undefined) return l;
    assert.equal(l.split('\t')[0], d[0], `${name}: record ${i + 1}`);
    return [d[1], ...l.split('\t').slice(1)].join('\t');
  });
}

function assertSameRun(a: Run, b: Run, what: string): void {
  assert.deepEqual(b.lines, a.lines, what);
  assert.deepEqual(b.detail, a.detail, what);
  assert.equal(JSON.stringify(b.reader.stats), JSON.stringify(a.reader.stats), what);
  assert.equal(String(b.error), String(a.error), what);
}

function formatError(fn: () => void, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isPipelineError(err), String(err));
    assert.equal(err.code, 'PCS_SOURCE_FORMAT');
    assert.match(err.message, message);
    return true;
  });
}

// ---- rewriting and crafting files ----

/** Byte order of a classic pcap file, from its magic. */
function isLE(b: Uint8Array): boolean {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true) >>> 16 === 0xa1b2;
}

/** Visit each whole record header (offset); stops at one cut short. */
function eachRecord(b: Uint8Array, fn: (o: number, dv: DataView, le: boolean) => void): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = isLE(b);
  for (let o = 24; b.length - o >= 16; ) {
    const incl = dv.getUint32(o + 8, le);
    fn(o, dv, le);
    o += 16 + incl;
  }
}

/** The same file in the other byte order: file header and record headers. */
function swapPcap(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src);
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const ov = new DataView(out.buffer);
  const le = isLE(src);
  const s16 = (p: number) => ov.setUint16(p, dv.getUint16(p, le), !le);
  const s32 = (p: number) => ov.setUint32(p, dv.getUint32(p, le), !le);
  s32(0);
  s16(4);
  s16(6);
  for (let p = 8; p < 24; p += 4) s32(p);
  eachRecord(src, (o) => {
    for (let p = o; p < o + 16; p += 4) s32(p);
  });
  return out;
}

/** A microsecond file rewritten with the nanosecond magic and fractions times 1000. */
function toNanos(src: Uint8Array): Uint8Array {
  const out = new Uint8Array(src);
  const le = isLE(src);
  const ov = new DataView(out.buffer);
  assert.equal(ov.getUint32(0, le), PCAP_MAGIC_USEC);
  ov.setUint32(0, PCAP_MAGIC_NSEC, le);
  eachRecord(out, (o, dv) => dv.setUint32(o + 4, dv.getUint32(o + 4, le) * 1000, le));
  return out;
}

function header(
  le: boolean,
  opts: { magic?: number; major?: number; linkType?: number; snaplen?: number } = {},
): Uint8Array {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, opts.magic ?? PCAP_MAGIC_USEC, le);
  dv.setUint16(4, opts.major ?? 2, le);
  dv.setUint16(6, 4, le);
  dv.setUint32(16, opts.snaplen ?? 65535, le);
  dv.setUint32(20, opts.linkType ?? 1, le);
  return b;
}

function record(le: boolean, sec: number, frac: number, data: Uint8Array, orig = data.length): Uint8Array {
  const b = new Uint8Array(16 + data.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, sec, le);
  dv.setUint32(4, frac, le);
  dv.setUint32(8, data.length, le);
  dv.setUint32(12, orig, le);
  b.set(data, 16);
  return b;
}

function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

const PKT = new Uint8Array(60).map((_, i) => i);

// ---- tests ----

describe('isPcapMagic', () => {
  it('accepts both magics in both byte orders, and the modified magic (refused later by name)', () => {
    for (const le of [true, false]) {
      assert.equal(isPcapMagic(header(le)), true);
      assert.equal(isPcapMagic(header(le, { magic: PCAP_MAGIC_NSEC })), true);
    }
    assert.equal(isPcapMagic(corpusFile('rusticata__modified_pcap_kuznetzov.pcap')), true);
  });
  it('refuses pcapng, snoop and short input', () => {
    assert.equal(isPcapMagic(corpusFile('tcpdump__empty.pcapng')), false);
    assert.equal(isPcapMagic(corpusFile('ppp__solaris.snoop')), false);
    assert.equal(isPcapMagic(new Uint8Array([0xd4, 0xc3, 0xb2])), false);
  });
});

describe('PcapReader: corpus against tshark', () => {
  const files = pcapCorpus();

  it('has an expectation for every classic pcap file of the manifest', () => {
    assert.deepEqual([...files].sort(), Object.keys(EXPECTED).sort());
  });

  for (const name of files) {
    it(name, () => {
      const [packets, linkTypeField, snaplen, digest] = EXPECTED[name]!;
      const r = run(corpusFile(name));
      if (name === 'libpcap__pcap_invalid_version_1.pcap') {
        // tshark: "pcap: major version 1 unsupported"; tcpdump: "archaic pcap savefile format".
        assert.ok(isPipelineError(r.error) && r.error.code === 'PCS_SOURCE_FORMAT', String(r.error));
        assert.match(r.error.message, /unsupported pcap version 1\.4/);
        return;
      }
      if (name === 'dpkt__file_cut_mid_packet.pcap') {
        // tshark: "cut short in the middle of a packet" after 1 packet; tcpdump: "truncated dump file".
        assert.ok(r.error instanceof TruncatedCaptureError, String(r.error));
        assert.equal(r.error.frames, 1);
        assert.equal(r.error.offset, 240);
      } else assert.equal(r.error, null, String(r.error));
      assert.equal(r.lines.length, packets);
      assert.equal(sha256(asTshark(name, r.lines)), digest, `${name}: frames differ from tshark's`);
      assert.equal(r.reader.linkType, linkTypeField & 0xffff);
      assert.equal(r.reader.snaplen, snaplen);
      assert.equal(r.reader.stats.byteOrder, isLE(corpusFile(name)) ? 'le' : 'be');
      if (!DEPARTURES[name] && name !== 'libpcap__linktype_reserved_field_not_zero.pcap') {
        assert.deepEqual(r.reader.stats.warnings, []);
      }
    });
  }
});

describe('PcapReader: chunking', () => {
  // Whole buffers are parsed in place; smaller chunks go through the carry buffer.
  for (const name of pcapCorpus()) {
    it(name, () => {
      const bytes = corpusFile(name);
      const whole = run(bytes);
      if (bytes.length <= 64 * 1024) assertSameRun(whole, run(bytes, 1), `${name}, 1-byte chunks`);
      for (const seed of [1, 2]) assertSameRun(whole, run(bytes, randomChunkSizes(seed)), `${name}, seed ${seed}`);
    });
  }
});

describe('PcapReader: byte order and resolution', () => {
  for (const name of pcapCorpus()) {
    if (name === 'libpcap__pcap_invalid_version_1.pcap') continue;
    it(`${name} swapped`, () => {
      const bytes = corpusFile(name);
      const a = run(bytes);
      const b = run(swapPcap(bytes), randomChunkSizes(3));
      assert.deepEqual(b.lines, a.lines);
      assert.deepEqual(b.detail, a.detail);
      assert.equal(String(b.error), String(a.error));
      assert.equal(b.reader.stats.byteOrder, a.reader.stats.byteOrder === 'le' ? 'be' : 'le');
      assert.deepEqual(b.reader.stats.warnings, a.reader.stats.warnings);
    });
  }

  it('reads every microsecond file rewritten to nanoseconds alike, with 9 digits', () => {
    let n = 0;
    for (const name of pcapCorpus()) {
      const bytes = corpusFile(name);
      const r = run(bytes);
      if (r.error !== null || r.reader.stats.warnings.length > 0 || r.detail[0]?.split(' ')[1] !== '6') continue;
      const ns = run(toNanos(bytes));
      assert.equal(ns.error, null, name);
      assert.deepEqual(ns.lines, r.lines, name);
      assert.deepEqual(
        ns.detail,
        r.detail.map((d) => d.replace(/^(\d+) 6 /, '$1 9 ')),
        name,
      );
      n++;
    }
    assert.ok(n > 100, `${n} files rewritten`);
  });

  it('reads the µs and ns twins (ppp__microsecs / ppp__nanosecs)', () => {
    // Known timestamps of the synthetic files, in file order (tshark: the same).
    assert.deepEqual(
      run(corpusFile('ppp__microsecs.pcap')).lines.map((l) => l.split('\t')[0]),
      ['1.000002000', '1.000001000'],
    );
    assert.deepEqual(
      run(corpusFile('ppp__nanosecs.pcap')).lines.map((l) => l.split('\t')[0]),
      ['1.000002000', '1.000001234'],
    );
  });
});

describe('PcapReader: refused and damaged files', () => {
  it('refuses the modified (Kuznetzov) format by name', () => {
    // tshark and tcpdump read it; its 24-byte record headers are not supported here.
    formatError(() => new PcapReader(() => {}).push(corpusFile('rusticata__modified_pcap_kuznetzov.pcap')), /modified/);
  });

  it('refuses an unknown magic, naming it', () => {
    formatError(() => new PcapReader(() => {}).push(corpusFile('ppp__solaris.snoop')), /unknown magic 0x736e6f6f/);
  });

  it('refuses versions other than 2.x', () => {
    for (const major of [1, 3]) {
      formatError(() => new PcapReader(() => {}).push(header(true, { major })), new RegExp(`version ${major}\\.4`));
    }
  });

  it('ignores reserved link-type bits with a warning (libpcap__linktype_reserved_field_not_zero)', () => {
    // Field 0x00300000: the draft says readers MUST ignore bits 16-25. tshark refuses the file
    // ("network type reserved field not zero"), tcpdump reads link type 3145728 and gives up.
    // It holds no packets either way.
    const r = run(corpusFile('libpcap__linktype_reserved_field_not_zero.pcap'));
    assert.equal(r.error, null);
    assert.equal(r.lines.length, 0);
    assert.equal(r.reader.linkType, 0);
    assert.deepEqual(r.reader.stats.warnings, [
      'link-type field 0x00300000 has reserved bits set; ignored, link type 0',
    ]);
    // FCS bits (28-31, 26) are not reserved: no warning.
    const fcs = run(cat(header(true, { linkType: 0x34000001 }), record(true, 1, 0, PKT)));
    assert.equal(fcs.reader.linkType, 1);
    assert.deepEqual(fcs.reader.stats.warnings, []);
  });

  it('carries out-of-range fractions into the seconds, with a warning', () => {
    const r = run(corpusFile('tcpdump__timestamp_invalid_micro.pcap'));
    assert.deepEqual(
      r.lines.map((l) => l.split('\t')[0]),
      ['1418145369.999999000', '1418145371.000000000', '1418147517.483648000'],
    );
    assert.deepEqual(r.reader.stats.warnings, [
      'record 2: fraction 1000000 µs is a second or more; 1 s carried into the seconds',
      'record 3: fraction 2147483648 µs is a second or more; 2147 s carried into the seconds',
    ]);
    const ns = run(cat(header(false, { magic: PCAP_MAGIC_NSEC }), record(false, 10, 4294967295, PKT)));
    assert.deepEqual(ns.lines, ['14.294967295\t60\t60']);
  });

  it('keeps the packets before a cut and reports the truncation (dpkt__file_cut_mid_packet)', () => {
    const bytes = corpusFile('dpkt__file_cut_mid_packet.pcap');
    for (const chunking of ['whole', 1, randomChunkSizes(4)] as Chunking[]) {
      const r = run(bytes, chunking);
      assert.deepEqual(r.lines, ['1598792366.561863000\t200\t282']);
      assert.ok(r.error instanceof TruncatedCaptureError, String(r.error));
      assert.equal(r.error.frames, 1);
      assert.equal(r.error.offset, 240);
      assert.match(r.error.message, /the last record is cut short \(7 bytes of it present\)/);
    }
  });

  it('keeps every packet before a cut anywhere in a record', () => {
    const bytes = corpusFile('zeek__nsec_http_get_to_ssh.pcap');
    const full = run(bytes);
    const starts: number[] = [];
    eachRecord(bytes, (o) => starts.push(o));
    for (let k = 0; k < starts.length; k++) {
      for (const into of [1, 15, 16, 17]) {
        const cut = starts[k]! + into;
        if (cut >= (starts[k + 1] ?? bytes.length)) continue;
        const r = run(bytes.subarray(0, cut), randomChunkSizes(k));
        assert.deepEqual(r.lines, full.lines.slice(0, k));
        assert.ok(r.error instanceof TruncatedCaptureError, String(r.error));
        assert.equal(r.error.frames, k);
        assert.equal(r.error.offset, starts[k]);
      }
    }
  });

  it('reports input too short for the file header as a format error, not a truncation', () => {
    const bytes = corpusFile('ppp__microsecs.pcap');
    for (const n of [0, 3, 4, 23]) {
      const r = new PcapReader(() => {});
      r.push(bytes.subarray(0, n));
      formatError(
        () => r.end(),
        n === 0 ? /input is empty/ : new RegExp(`ends inside its 24-byte file header \\(${n} bytes\\)`),
      );
    }
    const headerOnly = new PcapReader(() => {});
    headerOnly.push(bytes.subarray(0, 24));
    headerOnly.end();
    assert.equal(headerOnly.frames, 0);
  });

  it('marks the file damaged at a record claiming more than MAX_RECORD_BYTES', () => {
    const le = true;
    const huge = record(le, 2, 0, new Uint8Array(0));
    new DataView(huge.buffer).setUint32(8, MAX_RECORD_BYTES + 1, le);
    const r = run(cat(header(le), record(le, 1, 0, PKT), huge, record(le, 3, 0, PKT)));
    assert.equal(r.lines.length, 1);
    assert.ok(r.error instanceof TruncatedCaptureError, String(r.error));
    assert.equal(r.error.offset, 24 + 16 + 60);
    assert.match(r.error.message, /record 2 claims 16777217 captured bytes/);
  });
});
