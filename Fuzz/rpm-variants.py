#!/usr/bin/env python3
"""Seed variants of an .rpm for the rpm fuzz target, each a package the reader accepts:

  nodigests  every digest the reader checks is renamed to an unknown tag (signature: SHA256 273,
             SHA1 269, MD5 1004, SIZE 1000, LONGSIZE 270; header: PAYLOADDIGEST 5092, FILEDIGESTS
             1035), so a fuzzer that changes the main header or the payload is not stopped at the
             first digest check. Sizes and offsets stay, so librpm imports both headers as before.
  stripped   (needs an uncompressed newc payload: `pkglayer package --rpm-compression none`) rpm's
             stripped cpio payload, which rpm writes when a file reaches 4 GiB and pkglayer parses
             itself: the main header is rebuilt without its region and digests, with FILESIZES
             (1028) as LONGFILESIZES (5008), and each newc member becomes `07070X` + its header index.
  int64      without digests, and every INT32 tag of the main header stored as an INT64 (librpm
             accepts any integer type for a numeric tag), so a mutation can reach values no INT32
             holds.

usage: rpm-variants.py MODE IN.rpm OUT.rpm
"""
import struct
import sys

SIGNATURE_DIGESTS = {273: 9273, 269: 9269, 1004: 9904, 1000: 9900, 270: 9270}
HEADER_DIGESTS = {5092: 9092, 1035: 9035}
REGIONS = (61, 62, 63)
SIZES = {0: 0, 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1}
ALIGN = {3: 2, 4: 4, 5: 8}
MAGIC = b"\x8e\xad\xe8\x01\0\0\0\0"


def rename(data, offset, renames):
    """Renames tags in the header at `offset` (its magic) in place; returns the offset past it."""
    assert data[offset:offset + 4] == MAGIC[:4], "not a header"
    count, size = struct.unpack(">II", data[offset + 8:offset + 16])
    for i in range(count):
        at = offset + 16 + 16 * i
        tag = struct.unpack(">I", data[at:at + 4])[0]
        if tag in renames:
            data[at:at + 4] = struct.pack(">I", renames[tag])
    return offset + 16 + 16 * count + size


def parse_header(data, offset):
    """[tag, type, count, raw data] per entry, and the offset past the header."""
    count, size = struct.unpack(">II", data[offset + 8:offset + 16])
    store = offset + 16 + 16 * count
    entries = []
    for i in range(count):
        tag, type_, off, cnt = struct.unpack(">IIiI", data[offset + 16 + 16 * i:offset + 32 + 16 * i])
        start = store + off
        if type_ in (6, 8, 9):
            end = start
            for _ in range(1 if type_ == 6 else cnt):
                end = data.index(b"\0", end) + 1
        else:
            end = start + SIZES[type_] * cnt
        entries.append([tag, type_, cnt, bytes(data[start:end])])
    return entries, store + size


def build_header(entries):
    """A header without a region (librpm reads it as a legacy header), entries sorted by tag."""
    index, store = b"", b""
    for tag, type_, cnt, raw in sorted(entries):
        align = ALIGN.get(type_, 1)
        store += b"\0" * ((align - len(store) % align) % align)
        index += struct.pack(">IIiI", tag, type_, len(store), cnt)
        store += raw
    return MAGIC + struct.pack(">II", len(entries), len(store)) + index + store


def signature_without_digests(data):
    end = rename(data, 96, SIGNATURE_DIGESTS)
    return end + (8 - end % 8) % 8


def strings(entry):
    return entry[3].split(b"\0")[:entry[2]]


def stripped_payload(payload, paths):
    assert payload[:6] == b"070701", "the payload must be uncompressed newc"
    out = b""
    pad = lambda: b"\0" * ((4 - len(out) % 4) % 4)
    at = 0
    while True:
        fields = [int(payload[at + 6 + 8 * i:at + 14 + 8 * i], 16) for i in range(13)]
        size, namesize = fields[6], fields[11]
        name = payload[at + 110:at + 110 + namesize - 1].decode()
        data_start = at + 110 + namesize
        data_start += (4 - data_start % 4) % 4
        if name == "TRAILER!!!":
            out += pad() + payload[at:data_start]
            return out + pad()
        path = name[1:] if name.startswith("./") else "/" + name.lstrip("/")
        out += pad() + b"07070X" + b"%08x" % paths.index(path)
        out += pad() + payload[data_start:data_start + size]
        at = data_start + size
        at += (4 - at % 4) % 4


def main():
    mode, source, target = sys.argv[1:4]
    data = bytearray(open(source, "rb").read())
    sig_end = signature_without_digests(data)
    if mode == "nodigests":
        rename(data, sig_end, HEADER_DIGESTS)
        out = bytes(data)
    else:
        entries, payload_start = parse_header(data, sig_end)
        kept = [e for e in entries if e[0] not in REGIONS and e[0] not in HEADER_DIGESTS]
        payload = bytes(data[payload_start:])
        if mode == "stripped":
            by_tag = {e[0]: e for e in kept}
            dirs, bases = strings(by_tag[1118]), strings(by_tag[1117])
            dir_index = struct.unpack(">%dI" % by_tag[1116][2], by_tag[1116][3])
            paths = [(dirs[d] + b).decode() for d, b in zip(dir_index, bases)]
            for e in kept:
                if e[0] == 1028:
                    e[0], e[1], e[3] = 5008, 5, struct.pack(">%dQ" % e[2], *struct.unpack(">%dI" % e[2], e[3]))
            payload = stripped_payload(payload, paths)
        elif mode == "int64":
            for e in kept:
                if e[1] == 4:
                    e[1], e[3] = 5, struct.pack(">%dQ" % e[2], *struct.unpack(">%dI" % e[2], e[3]))
        else:
            sys.exit("unknown mode " + mode)
        out = bytes(data[:sig_end]) + build_header(kept) + payload
    open(target, "wb").write(out)


if __name__ == "__main__":
    main()
