/**
 * Where a local service listens, seen from outside it: the kernel's table of listening sockets,
 * and a connection attempt on each of this machine's network addresses. A service that should
 * only be reachable from this machine must show up on loopback addresses only.
 */
import { BlockList, connect } from 'node:net';
import { readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** Whether an address (IPv4, IPv6, or IPv4-mapped IPv6) belongs to this machine alone. */
export const isLoopback = (address: string): boolean =>
  loopback.check(address, address.includes(':') ? 'ipv6' : 'ipv4');

/**
 * /proc/net/tcp{,6} print an address as hex, each 32-bit word in the host's byte order (little
 * endian on every machine this runs on).
 */
function decodeAddress(hex: string): string {
  const bytes = Buffer.from(hex, 'hex');
  for (let word = 0; word < bytes.length; word += 4) bytes.subarray(word, word + 4).reverse();
  if (bytes.length === 4) return [...bytes].join('.');
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2).toString(16));
  // The URL parser writes an IPv6 address in its short, canonical form.
  return new URL(`http://[${groups.join(':')}]`).hostname.slice(1, -1);
}

/**
 * Every address a TCP socket listens on at `port`, from the kernel's tables (Linux only;
 * undefined elsewhere).
 */
export function listeningAddresses(port: number): string[] | undefined {
  const addresses: string[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      return undefined;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      const [address, hexPort] = local?.split(':') ?? [];
      // 0A is TCP_LISTEN.
      if (state === '0A' && address && hexPort && parseInt(hexPort, 16) === port) {
        addresses.push(decodeAddress(address));
      }
    }
  }
  return addresses;
}

/** This machine's addresses that other machines can reach it on. */
export function externalAddresses(): string[] {
  return Object.values(networkInterfaces())
    .flatMap((entries) => entries ?? [])
    .filter((entry) => !entry.internal && !entry.address.startsWith('fe80:'))
    .map((entry) => entry.address);
}

/** Whether a TCP connection to address:port is accepted (within a second). */
export function accepts(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: 1000 });
    const done = (accepted: boolean) => {
      socket.destroy();
      resolve(accepted);
    };
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
    socket.once('timeout', () => {
      done(false);
    });
  });
}
