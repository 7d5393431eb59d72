// A zip writer for the PNG sequence: entries stored (PNGs are already compressed), CRC-32 checked, kept as
// Blob parts so the browser may page them out. Limits: under 65,535 entries and 4 GiB (no zip64).
import { crc32 } from './crc32.js';

const utf8 = new TextEncoder();

interface Entry {
  name: Uint8Array;
  crc: number;
  size: number;
  offset: number;
}

export class ZipWriter {
  private parts: BlobPart[] = [];
  private entries: Entry[] = [];
  private offset = 0;

  get count(): number {
    return this.entries.length;
  }

  add(name: string, data: Uint8Array): void {
    if (this.entries.length >= 0xffff) throw new Error('zip: more than 65,535 files');
    const n = utf8.encode(name);
    const crc = crc32(data);
    const head = new Uint8Array(30 + n.length);
    const v = new DataView(head.buffer);
    v.setUint32(0, 0x04034b50, true); // local file header
    v.setUint16(4, 20, true); // version needed: 2.0
    v.setUint16(6, 0x0800, true); // UTF-8 names
    v.setUint16(8, 0, true); // stored
    v.setUint16(10, 0, true); // time
    v.setUint16(12, 0x21, true); // date: 1980-01-01
    v.setUint32(14, crc, true);
    v.setUint32(18, data.length, true);
    v.setUint32(22, data.length, true);
    v.setUint16(26, n.length, true);
    head.set(n, 30);
    if (this.offset + head.length + data.length > 0xffffffff) throw new Error('zip: over 4 GiB');
    this.entries.push({ name: n, crc, size: data.length, offset: this.offset });
    this.parts.push(head, data as BlobPart);
    this.offset += head.length + data.length;
  }

  blob(): Blob {
    const dir: Uint8Array[] = [];
    let dirSize = 0;
    for (const e of this.entries) {
      const h = new Uint8Array(46 + e.name.length);
      const v = new DataView(h.buffer);
      v.setUint32(0, 0x02014b50, true); // central directory header
      v.setUint16(4, 20, true); // made by: 2.0
      v.setUint16(6, 20, true);
      v.setUint16(8, 0x0800, true);
      v.setUint16(10, 0, true);
      v.setUint16(12, 0, true);
      v.setUint16(14, 0x21, true);
      v.setUint32(16, e.crc, true);
      v.setUint32(20, e.size, true);
      v.setUint32(24, e.size, true);
      v.setUint16(28, e.name.length, true);
      v.setUint32(42, e.offset, true);
      h.set(e.name, 46);
      dir.push(h);
      dirSize += h.length;
    }
    const end = new Uint8Array(22);
    const v = new DataView(end.buffer);
    v.setUint32(0, 0x06054b50, true); // end of central directory
    v.setUint16(8, this.entries.length, true);
    v.setUint16(10, this.entries.length, true);
    v.setUint32(12, dirSize, true);
    v.setUint32(16, this.offset, true);
    return new Blob([...this.parts, ...(dir as BlobPart[]), end], { type: 'application/zip' });
  }
}
