"""A GM/T 0021-2012 hardware token, simulated: the SM3 dynamic password of a seed, written
independently of the provider's Rust with PyPI gmssl's SM3 (tests/e2e/sm_crypto.rs).

    python3 gmt0021_token.py SEED_HEX PERIOD [UNIX_TIME ...]   (now, without a time)

ID = T (8 bytes big-endian, T = floor(t / period)) zero-padded to 16 bytes; S = SM3(K || ID);
OD = the sum of S's eight big-endian 32-bit words mod 2^32; the password is OD mod 10^6.
"""

import struct
import sys
import time

from gmssl import func, sm3


def code(seed: bytes, t: int, period: int, digits: int = 6) -> str:
    ident = struct.pack(">Q", t // period).ljust(16, b"\0")
    s = bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(seed + ident)))
    od = sum(struct.unpack(">8I", s)) % 2**32
    return str(od % 10**digits).zfill(digits)


if __name__ == "__main__":
    seed, period = bytes.fromhex(sys.argv[1]), int(sys.argv[2])
    for t in [int(a) for a in sys.argv[3:]] or [int(time.time())]:
        print(code(seed, t, period))
