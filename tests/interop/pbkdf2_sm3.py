"""PBKDF2-HMAC-SM3 (RFC 8018 §5.2 over RFC 2104 HMAC), written independently of the provider's
Rust on PyPI gmssl's SM3, to check the provider's password hashes (tests/e2e/sm_crypto.rs).

    python3 pbkdf2_sm3.py PASSWORD SALT_HEX ITERATIONS LENGTH   -> the derived key, hex
"""

import struct
import sys

from gmssl import func, sm3


def sm3_bytes(data: bytes) -> bytes:
    return bytes.fromhex(sm3.sm3_hash(func.bytes_to_list(data)))


def hmac_sm3(key: bytes, data: bytes) -> bytes:
    if len(key) > 64:
        key = sm3_bytes(key)
    key = key.ljust(64, b"\0")
    inner = sm3_bytes(bytes(b ^ 0x36 for b in key) + data)
    return sm3_bytes(bytes(b ^ 0x5C for b in key) + inner)


def pbkdf2(password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    out = b""
    block = 1
    while len(out) < length:
        u = hmac_sm3(password, salt + struct.pack(">I", block))
        t = bytearray(u)
        for _ in range(iterations - 1):
            u = hmac_sm3(password, u)
            t = bytearray(a ^ b for a, b in zip(t, u))
        out += bytes(t)
        block += 1
    return out[:length]


if __name__ == "__main__":
    password, salt, iterations, length = sys.argv[1].encode(), bytes.fromhex(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    print(pbkdf2(password, salt, iterations, length).hex())
