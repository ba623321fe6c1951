import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { renderFieldsDoc } from '../../scripts/gen-fields-doc.ts';

test('docs/fields.md matches the field table (regenerate: node scripts/gen-fields-doc.ts)', () => {
  const current = fs.readFileSync(new URL('../../docs/fields.md', import.meta.url), 'utf8');
  assert.equal(current, renderFieldsDoc());
});

test('every Logisland field named by the record spec is present', () => {
  const doc = renderFieldsDoc();
  for (const name of [
    'ip_version',
    'ip_internet_header_length',
    'ip_type_of_service',
    'ip_datagram_total_length',
    'ip_identification',
    'ip_flags',
    'ip_fragment_offset',
    'ip_time_to_live',
    'protocol',
    'ip_checksum',
    'src_ip',
    'dst_ip',
    'ip_options',
    'src_port',
    'dest_port',
    'tcp_sequence_number',
    'tcp_acknowledgment_number',
    'tcp_data_offset',
    'tcp_flags',
    'tcp_window_size',
    'tcp_checksum',
    'tcp_urgent_pointer',
    'tcp_options',
    'udp_segment_total_length',
    'udp_checksum',
    'frame_number',
    'timestamp',
    'captured_length',
    'frame_length',
    'interface_id',
    'link_type',
    'eth_src',
    'eth_dst',
    'eth_type',
    'vlan_ids',
    'icmp_type',
    'icmp_code',
    'dns_query_name',
    'arp_sender_ip',
    'arp_target_ip',
  ]) {
    assert.match(doc, new RegExp(`\\| \`${name}\` \\|`), name);
  }
});
