"""RC2 decryption (RFC 2268), CBC mode. Pure; decryption only.

OpenSSL 1.x and older Java encrypt the certificates of a PKCS#12 file with "pbeWithSHAAnd40-
BitRC2-CBC". `arca.pbe` must decrypt that block to see the bags inside before OpenSSL derives
their keys, and `cryptography` offers RC2 with 128-bit keys only: this fills the gap for the
few kilobytes of one upload. Nothing here encrypts, and nothing else should use it.
"""

from __future__ import annotations

# RFC 2268 section 2: a permutation of 0..255 built from the digits of pi.
PITABLE = bytes.fromhex(
    "d978f9c419ddb5ed28e9fd794aa0d89dc67e37832b76538e624c6488448bfba2"
    "179a59f587b34f1361456d8d09817d32bd8f40eb86b77b0bf09521225c6b4e82"
    "54d66593ce60b21c7356c014a78cf1dc1275ca1f3bbee4d1423dd430a33cb626"
    "6fbf0eda4669075727f21d9bbc944303f811c7f690ef3ee706c3d52fc8661ed7"
    "08e8eade8052eef784aa72ac354d6a2a961ad2715a1549744b9fd05e0418a4ec"
    "c2e0416e0f51cbcc2491af50a1f47039997c3a8523b8b47afc02365b25559731"
    "2d5dfa98e38a92ae05df2910676cbac9d300e6cfe19ea82c6316013f58e289a9"
    "0d38341bab33ffb0bb480c5fb9b1cd2ec5f3db47e5a59c770aa62068fe7fc1ad"
)
_MASK = 0xFFFF
_SHIFTS = (1, 2, 3, 5)
_SCHEDULE = ("mix",) * 5 + ("mash",) + ("mix",) * 6 + ("mash",) + ("mix",) * 5


def expand_key(key: bytes, effective_bits: int) -> list[int]:
    """The 64 16-bit key words for `key` (1–128 bytes) at `effective_bits` (1–1024)."""
    if not 1 <= len(key) <= 128 or not 1 <= effective_bits <= 1024:
        raise ValueError("RC2 key of 1–128 bytes, 1–1024 effective bits")
    expanded = bytearray(128)
    expanded[: len(key)] = key
    for i in range(len(key), 128):
        expanded[i] = PITABLE[(expanded[i - 1] + expanded[i - len(key)]) & 0xFF]
    t8 = (effective_bits + 7) // 8
    tm = 0xFF >> (8 * t8 - effective_bits)
    expanded[128 - t8] = PITABLE[expanded[128 - t8] & tm]
    for i in range(127 - t8, -1, -1):
        expanded[i] = PITABLE[expanded[i + 1] ^ expanded[i + t8]]
    return [expanded[2 * i] | (expanded[2 * i + 1] << 8) for i in range(64)]


def decrypt_block(words: list[int], block: bytes) -> bytes:
    """One 8-byte block, the encryption's mixing and mashing rounds undone in reverse."""
    r = [block[2 * i] | (block[2 * i + 1] << 8) for i in range(4)]
    j = 63
    for step in _SCHEDULE:
        for i in (3, 2, 1, 0):
            if step == "mash":
                r[i] = (r[i] - words[r[i - 1] & 63]) & _MASK
                continue
            value = ((r[i] >> _SHIFTS[i]) | (r[i] << (16 - _SHIFTS[i]))) & _MASK
            value -= words[j] + (r[i - 1] & r[i - 2]) + (~r[i - 1] & r[i - 3])
            r[i] = value & _MASK
            j -= 1
    return b"".join(word.to_bytes(2, "little") for word in r)


def decrypt_cbc(key: bytes, effective_bits: int, iv: bytes, ciphertext: bytes) -> bytes:
    """CBC decryption, padding left on (the caller checks it)."""
    if len(iv) != 8 or len(ciphertext) % 8:
        raise ValueError("RC2-CBC works on 8-byte blocks")
    words = expand_key(key, effective_bits)
    plaintext, previous = bytearray(), iv
    for start in range(0, len(ciphertext), 8):
        block = ciphertext[start : start + 8]
        plain = decrypt_block(words, block)
        plaintext += bytes(a ^ b for a, b in zip(plain, previous, strict=True))
        previous = block
    return bytes(plaintext)
