// Number, size, time and duration text for the dashboard. Plain functions, no DOM.

const SI = ['', ' k', ' M', ' G', ' T', ' P'];

/** 1234567 -> "1.23 M"; below 1000 the number itself. */
export function si(n) {
  if (!Number.isFinite(n)) return '–';
  let i = 0;
  let v = Math.abs(n);
  while (v >= 1000 && i < SI.length - 1) {
    v /= 1000;
    i++;
  }
  const sign = n < 0 ? '-' : '';
  if (i === 0) return sign + (Number.isInteger(v) ? String(v) : v.toFixed(1));
  return sign + (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + SI[i];
}

/** Whole number with thousands separators: 1234567 -> "1,234,567". */
export function int(n) {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–';
}

/** Bytes in binary units: 1536 -> "1.50 KiB". */
export function bytes(n) {
  if (!Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)} ${units[i]}`;
}

/** Microseconds since the epoch -> "2025-01-01 00:00:05" (UTC, packet time). */
export function timeUs(us) {
  if (us === null || us === undefined || !Number.isFinite(us)) return '–';
  return new Date(Math.floor(us / 1000)).toISOString().replace('T', ' ').slice(0, 19);
}

/** Microseconds since the epoch -> "00:00:05.123" (UTC). */
export function clockUs(us) {
  if (!Number.isFinite(us)) return '–';
  return new Date(Math.floor(us / 1000)).toISOString().slice(11, 23);
}

/** Duration in microseconds -> "1.25 s", "3 min 20 s", "850 µs". */
export function durationUs(us) {
  if (!Number.isFinite(us)) return '–';
  if (us < 1000) return `${us} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(1)} ms`;
  return seconds(us / 1_000_000);
}

/** Seconds -> "12.5 s", "3 min 20 s", "2 h 05 min". */
export function seconds(s) {
  if (!Number.isFinite(s)) return '–';
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.floor(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** "addr:port", with IPv6 addresses in brackets; ports omitted when 0 and not TCP/UDP. */
export function endpoint(ip, port, protocol) {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  return port > 0 || protocol === 6 || protocol === 17 ? `${host}:${port}` : host;
}

/** TCP flag bits -> "SYN ACK FIN" style text. */
export function tcpFlags(bits) {
  const names = ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR'];
  const out = [];
  for (let i = 0; i < names.length; i++) if (bits & (1 << i)) out.push(names[i]);
  return out.join(' ');
}
