"""A tiny DER writer for tests that need files no library would write (absurd KDF costs)."""

from __future__ import annotations

import base64
import os


def tlv(tag: int, body: bytes) -> bytes:
    if len(body) < 0x80:
        return bytes([tag, len(body)]) + body
    size = (len(body).bit_length() + 7) // 8
    return bytes([tag, 0x80 | size]) + len(body).to_bytes(size) + body


def seq(*items: bytes) -> bytes:
    return tlv(0x30, b"".join(items))


def integer(value: int) -> bytes:
    return tlv(0x02, value.to_bytes((value.bit_length() + 8) // 8, signed=True))


def octets(data: bytes) -> bytes:
    return tlv(0x04, data)


def oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    body = b""
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return tlv(0x06, body)


def explicit0(item: bytes) -> bytes:
    return tlv(0xA0, item)


PBES2 = "1.2.840.113549.1.5.13"
PBKDF2 = "1.2.840.113549.1.5.12"
SCRYPT = "1.3.6.1.4.1.11591.4.11"
HMAC_SHA256 = "1.2.840.113549.2.9"
AES_256_CBC = "2.16.840.1.101.3.4.1.42"


def pbes2_pbkdf2(iterations: int, iv: bytes = b"\x00" * 16) -> bytes:
    """AlgorithmIdentifier: PBES2 with PBKDF2-HMAC-SHA256 of `iterations`, AES-256-CBC."""
    kdf = seq(oid(PBKDF2), seq(octets(os.urandom(16)), integer(iterations), seq(oid(HMAC_SHA256))))
    return seq(oid(PBES2), seq(kdf, seq(oid(AES_256_CBC), octets(iv))))


def pbes2_scrypt(n: int, r: int, p: int) -> bytes:
    kdf = seq(oid(SCRYPT), seq(octets(os.urandom(16)), integer(n), integer(r), integer(p)))
    return seq(oid(PBES2), seq(kdf, seq(oid(AES_256_CBC), octets(b"\x00" * 16))))


def encrypted_key_pem(algorithm: bytes) -> bytes:
    """An ENCRYPTED PRIVATE KEY PEM whose ciphertext is noise: only its KDF matters."""
    der = seq(algorithm, octets(os.urandom(1232)))
    body = base64.encodebytes(der).decode().replace("\n", "")
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    text = "\n".join(
        ["-----BEGIN ENCRYPTED PRIVATE KEY-----", *lines, "-----END ENCRYPTED PRIVATE KEY-----", ""]
    )
    return text.encode()
