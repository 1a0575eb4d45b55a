// A key's allowed networks as the forms take them: the API's rules
// (shared/keys ParseAllowedIPs over Go's net/netip), checked in the browser
// so a typo is named next to the field before any request. The rules are
// netip's to the letter (no leading zeros in IPv4 octets or prefix lengths,
// at most one "::", an embedded IPv4 only in the last 32 bits), and
// e2e/browser's TestNetworkRulesMatchTheAPI runs this module and the Go
// parser over the same inputs.

/** The most networks a key may be limited to (keys.MaxAllowedIPs). */
export const maxNetworks = 20;

export type NetworkFault = "zone" | "invalid" | "mapped" | "hostBits";

export type ParsedNetwork =
  | { ok: true; canonical: string }
  | { ok: false; fault: NetworkFault; /** For hostBits: the network the entry is in. */ masked?: string };

/** One entry as the API reads it: canonical as netip writes it ("198.51.100.7/32"), or why not. */
export function parseNetwork(s: string): ParsedNetwork {
  if (s.includes("%")) return { ok: false, fault: "zone" };
  const slash = s.lastIndexOf("/");
  const addr = parseAddr(slash < 0 ? s : s.slice(0, slash));
  if (!addr) return { ok: false, fault: "invalid" };
  const max = addr.length * 8;
  let bits = max;
  if (slash >= 0) {
    const b = s.slice(slash + 1);
    if (!/^(0|[1-9][0-9]*)$/.test(b) || Number(b) > max) return { ok: false, fault: "invalid" };
    bits = Number(b);
  }
  if (addr.length === 16 && is4In6(addr)) return { ok: false, fault: "mapped" };
  const masked = mask(addr, bits);
  if (masked.some((v, i) => v !== addr[i])) return { ok: false, fault: "hostBits", masked: `${formatAddr(masked)}/${bits}` };
  return { ok: true, canonical: `${formatAddr(addr)}/${bits}` };
}

export interface NetworkEntry {
  /** As typed, trimmed. */
  text: string;
  canonical: string;
}

export type NetworksResult = { ok: true; entries: NetworkEntry[] } | { ok: false; message: string };

/**
 * The networks field as typed: one entry per line (commas and spaces also
 * separate), blank lines ignored. The message of a failure is written for the
 * person at the form; with several lines it names the line.
 */
export function parseNetworks(text: string): NetworksResult {
  const lines = text.split(/\r?\n/);
  const items: { text: string; line: number }[] = [];
  lines.forEach((l, i) => {
    for (const part of l.split(/[\s,]+/)) if (part !== "") items.push({ text: part, line: i + 1 });
  });
  if (items.length > maxNetworks) {
    return { ok: false, message: `List at most ${maxNetworks} networks; you entered ${items.length}.` };
  }
  const where = (line: number) => (lines.filter((l) => l.trim() !== "").length > 1 ? `Line ${line}: ` : "");
  const entries: NetworkEntry[] = [];
  for (const item of items) {
    const p = parseNetwork(item.text);
    if (!p.ok) return { ok: false, message: where(item.line) + networkFaultMessage(item.text, p.fault, p.masked) };
    const same = entries.find((e) => e.canonical === p.canonical);
    if (same) {
      const also = same.text === item.text ? "" : ` (as "${same.text}")`;
      return { ok: false, message: `${where(item.line)}${p.canonical} is already in the list${also}.` };
    }
    entries.push({ text: item.text, canonical: p.canonical });
  }
  return { ok: true, entries };
}

/**
 * What is wrong with an entry, in the form's words; the API's 400 about an
 * entry is shown with these words too (formerrors.ts). Long entries are cut
 * at 40 characters, as the API cuts them.
 */
export function networkFaultMessage(entry: string, fault: NetworkFault, masked?: string): string {
  const q = `"${entry.length > 40 ? entry.slice(0, 40) + "…" : entry}"`;
  switch (fault) {
    case "zone":
      return `${q} has a zone (the part from %), which a network cannot have.`;
    case "mapped":
      return `${q} is an IPv4-mapped IPv6 address; write the IPv4 address instead.`;
    case "hostBits":
      return `${q} has bits set after its prefix length; the network is ${masked}.`;
    default:
      return `${q} is not an IPv4 or IPv6 address or CIDR range (such as 203.0.113.0/24, 2001:db8::/32 or 198.51.100.7).`;
  }
}

// ---- netip's parsing and formatting

/** An address as its 4 or 16 bytes; null when netip.ParseAddr refuses it (zones are refused earlier). */
function parseAddr(s: string): number[] | null {
  for (const c of s) {
    if (c === ".") return parseIPv4(s);
    if (c === ":") return parseIPv6(s);
  }
  return null;
}

function parseIPv4(s: string): number[] | null {
  const fields = s.split(".");
  if (fields.length !== 4) return null;
  const out: number[] = [];
  for (const f of fields) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(f) || Number(f) > 255) return null;
    out.push(Number(f));
  }
  return out;
}

/** netip's parseIPv6, step by step (its error cases are the same inputs). */
function parseIPv6(s: string): number[] | null {
  const ip = new Array<number>(16).fill(0);
  let ellipsis = -1; // where "::" stands, in bytes
  let rest = s;
  if (rest.startsWith("::")) {
    ellipsis = 0;
    rest = rest.slice(2);
    if (rest === "") return ip;
  }
  let i = 0;
  while (i < 16) {
    const digits = /^[0-9a-fA-F]*/.exec(rest)![0];
    if (digits.length === 0 || digits.length > 4) return null;
    if (rest[digits.length] === ".") {
      // An embedded IPv4 address: the last 32 bits, or anywhere after "::" if it fits.
      if ((ellipsis < 0 && i !== 12) || i + 4 > 16) return null;
      const v4 = parseIPv4(rest);
      if (!v4) return null;
      ip.splice(i, 4, ...v4);
      i += 4;
      rest = "";
      break;
    }
    const v = parseInt(digits, 16);
    ip[i] = v >> 8;
    ip[i + 1] = v & 0xff;
    i += 2;
    rest = rest.slice(digits.length);
    if (rest === "") break;
    if (rest[0] !== ":" || rest.length === 1) return null;
    rest = rest.slice(1);
    if (rest[0] === ":") {
      if (ellipsis >= 0) return null;
      ellipsis = i;
      rest = rest.slice(1);
      if (rest === "") break;
    }
  }
  if (rest !== "") return null;
  if (i < 16) {
    if (ellipsis < 0) return null;
    const n = 16 - i;
    const moved = ip.slice(ellipsis, i);
    ip.fill(0, ellipsis, 16);
    ip.splice(ellipsis + n, moved.length, ...moved);
    return ip;
  }
  // "::" must stand for at least one group of zeros.
  return ellipsis >= 0 ? null : ip;
}

function is4In6(a: number[]): boolean {
  return a.slice(0, 10).every((v) => v === 0) && a[10] === 0xff && a[11] === 0xff;
}

function mask(a: number[], bits: number): number[] {
  return a.map((v, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    return v & ((0xff << (8 - keep)) & 0xff);
  });
}

/** As netip's Addr.String: dotted IPv4; IPv6 in lower-case hex with the longest run (2+) of zero groups as "::". */
function formatAddr(a: number[]): string {
  if (a.length === 4) return a.join(".");
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((a[i] << 8) | a[i + 1]);
  let zs = -1;
  let ze = -1;
  for (let i = 0; i < 8; i++) {
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i >= 2 && j - i > ze - zs) {
      zs = i;
      ze = j;
    }
  }
  const hex = (list: number[]) => list.map((g) => g.toString(16)).join(":");
  return zs < 0 ? hex(groups) : `${hex(groups.slice(0, zs))}::${hex(groups.slice(ze))}`;
}
