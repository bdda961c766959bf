"""A Thrift compact-protocol reader and writer (generic, test-only): enough to rewrite a
Parquet footer, as a forger would, for tests/test_h207_hostile_files.py."""


def _varint(b, i):
    shift = v = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i


def _zz(v):
    return (v >> 1) ^ -(v & 1)


def _enc_varint(v):
    out = bytearray()
    while True:
        if v < 0x80:
            out.append(v); return bytes(out)
        out.append((v & 0x7F) | 0x80); v >>= 7


def _enc_zz(v, bits=64):
    return _enc_varint((v << 1) ^ (v >> (bits - 1)))


def read_value(b, i, t):
    if t in (1, 2):
        return t == 1, i
    if t == 3:
        return b[i], i + 1
    if t in (4, 5, 6):
        v, i = _varint(b, i); return _zz(v), i
    if t == 7:
        return b[i:i + 8], i + 8
    if t == 8:
        n, i = _varint(b, i); return b[i:i + n], i + n
    if t in (9, 10):
        h = b[i]; i += 1
        n, et = h >> 4, h & 0xF
        if n == 15:
            n, i = _varint(b, i)
        items = []
        for _ in range(n):
            if et in (1, 2):
                items.append(b[i] == 1); i += 1
            else:
                v, i = read_value(b, i, et); items.append(v)
        return ("list", et, items), i
    if t == 11:
        n, i = _varint(b, i)
        if n == 0:
            return ("map", 0, 0, []), i
        kv = b[i]; i += 1
        items = []
        for _ in range(n):
            k, i = read_value(b, i, kv >> 4)
            v, i = read_value(b, i, kv & 0xF)
            items.append((k, v))
        return ("map", kv >> 4, kv & 0xF, items), i
    if t == 12:
        return read_struct(b, i)
    raise ValueError(f"type {t}")


def read_struct(b, i):
    fields, last = [], 0
    while True:
        h = b[i]; i += 1
        if h == 0:
            return fields, i
        t = h & 0xF
        d = h >> 4
        if d:
            fid = last + d
        else:
            v, i = _varint(b, i); fid = _zz(v)
        v, i = read_value(b, i, t)
        fields.append([fid, t, v])
        last = fid


def write_value(v, t):
    if t in (1, 2):
        return b""
    if t == 3:
        return bytes([v])
    if t in (4, 5, 6):
        return _enc_zz(v)
    if t == 7:
        return bytes(v)
    if t == 8:
        return _enc_varint(len(v)) + bytes(v)
    if t in (9, 10):
        _, et, items = v
        n = len(items)
        out = bytes([(n << 4) | et]) if n < 15 else bytes([0xF0 | et]) + _enc_varint(n)
        for x in items:
            out += bytes([1 if x else 2]) if et in (1, 2) else write_value(x, et)
        return out
    if t == 11:
        _, kt, vt, items = v
        if not items:
            return b"\x00"
        out = _enc_varint(len(items)) + bytes([(kt << 4) | vt])
        for k, x in items:
            out += write_value(k, kt) + write_value(x, vt)
        return out
    if t == 12:
        return write_struct(v)
    raise ValueError(t)


def write_struct(fields):
    out, last = bytearray(), 0
    for fid, t, v in fields:
        tt = t
        if t in (1, 2):
            tt = 1 if v else 2
        d = fid - last
        if 0 < d <= 15:
            out.append((d << 4) | tt)
        else:
            out.append(tt); out += _enc_zz(fid, 16)
        out += write_value(v, t)
        last = fid
    out.append(0)
    return bytes(out)


def get(fields, fid):
    for f in fields:
        if f[0] == fid:
            return f
    return None


def footer(raw):
    n = int.from_bytes(raw[-8:-4], "little")
    start = len(raw) - 8 - n
    meta, end = read_struct(raw, start)
    assert end == len(raw) - 8, (end, len(raw))
    return meta, start


def with_footer(raw, meta, start):
    body = write_struct(meta)
    return raw[:start] + body + len(body).to_bytes(4, "little") + b"PAR1"


def forge_footer(raw: bytes, rows: int, column_bytes: int, sizes: dict | None = None) -> bytes:
    """``raw`` (a Parquet file) with a footer that declares ``rows`` rows a row group and
    ``column_bytes`` uncompressed bytes (and ``rows`` values) a column chunk, or
    ``sizes[column]`` bytes for the columns named there."""
    meta, start = footer(raw)
    groups = get(meta, 4)[2][2]
    get(meta, 3)[2] = rows * len(groups)
    for group in groups:
        get(group, 3)[2] = rows
        get(group, 2)[2] = column_bytes
        for chunk in get(group, 1)[2][2]:
            md = get(chunk, 3)[2]
            name = b".".join(get(md, 3)[2][2]).decode()
            get(md, 5)[2] = rows
            get(md, 6)[2] = (sizes or {}).get(name, column_bytes)
    return with_footer(raw, meta, start)
