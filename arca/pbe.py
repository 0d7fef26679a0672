"""Password-based encryption parameters, read before any key is derived from a password. Pure.

A PKCS#12 file or an encrypted PKCS#8 key names its own key-derivation cost (PBKDF2 or PKCS#12
iterations, scrypt N/r/p), and OpenSSL pays whatever it names: 60 million rounds are half a
minute of CPU per upload. ARCA's own files and OpenSSL's defaults use 2048–10000 iterations, so
everything here is read from the DER structure first and refused above a cap, per derivation
and in total for one file.

The contents of a PKCS#12 `encryptedData` block can only be inspected once decrypted, and a key
bag hidden in it would be derived at any cost; so those blocks are decrypted here, within the
budget, for the schemes OpenSSL, Windows and Java write (PBES2 with AES or 3DES; PKCS#12 PBE
with 3DES or RC2, see `arca.rc2`). Other schemes (RC4, PBES1) in an `encryptedData` block are
refused as unsupported.

Only definite-length DER is read (what OpenSSL, Windows and Java write); anything else is
`Malformed`.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.ciphers import BlockCipherAlgorithm, Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from arca import rc2

MAX_ITERATIONS = 100_000  # per derivation: PBKDF2, PKCS#12 KDF, PKCS#12 MAC
MAX_TOTAL_ITERATIONS = 300_000  # all derivations of one file together
MAX_SCRYPT_N = 2**15  # OpenSSL's default is 2**14 (and its memory cap 32 MB)
MAX_SCRYPT_R = 8
MAX_SCRYPT_P = 2
MAX_NESTING = 4  # safeContentsBag within safeContentsBag

_RSADSI = "1.2.840.113549"
DATA = f"{_RSADSI}.1.7.1"
ENCRYPTED_DATA = f"{_RSADSI}.1.7.6"
PBES2 = f"{_RSADSI}.1.5.13"
PBKDF2 = f"{_RSADSI}.1.5.12"
PBMAC1 = f"{_RSADSI}.1.5.14"
SCRYPT = "1.3.6.1.4.1.11591.4.11"
PBES1 = {f"{_RSADSI}.1.5.{n}" for n in (1, 3, 4, 6, 10, 11)}
PKCS12_PBE = {f"{_RSADSI}.1.12.1.{n}": n for n in range(1, 7)}
SHROUDED_KEY_BAG = f"{_RSADSI}.1.12.10.1.2"
SAFE_CONTENTS_BAG = f"{_RSADSI}.1.12.10.1.6"
_PRFS: dict[str, type[hashes.HashAlgorithm]] = {
    f"{_RSADSI}.2.7": hashes.SHA1,
    f"{_RSADSI}.2.8": hashes.SHA224,
    f"{_RSADSI}.2.9": hashes.SHA256,
    f"{_RSADSI}.2.10": hashes.SHA384,
    f"{_RSADSI}.2.11": hashes.SHA512,
}
_AES_CBC = {
    "2.16.840.1.101.3.4.1.2": 16,
    "2.16.840.1.101.3.4.1.22": 24,
    "2.16.840.1.101.3.4.1.42": 32,
}
_DES_EDE3_CBC = f"{_RSADSI}.3.7"
# PKCS#12 PBE (RFC 7292 Appendix C) block ciphers: OID number -> (cipher, key bytes).
_PKCS12_CIPHERS = {3: ("3des", 24), 4: ("3des", 16), 5: ("rc2", 16), 6: ("rc2", 5)}

_SEQUENCE, _SET, _INTEGER, _OCTETS, _OID = 0x30, 0x31, 0x02, 0x04, 0x06
_CONTEXT_0, _IMPLICIT_OCTETS_0 = 0xA0, 0x80


class PbeError(ValueError):
    """The file cannot be opened safely; the subclass says why."""


class Malformed(PbeError):
    """Not the DER structure it should be."""


class Unsupported(PbeError):
    """A scheme whose cost cannot be read before OpenSSL pays it."""


class TooCostly(PbeError):
    """The file asks for more key-derivation work than any legitimate one does."""

    def __init__(self, what: str, value: int, cap: int) -> None:
        super().__init__(f"{what} = {value}, above the cap of {cap}")
        self.what, self.value, self.cap = what, value, cap


class CannotOpen(PbeError):
    """The password does not decrypt the file's encrypted contents."""


# --- a minimal DER reader ----------------------------------------------------------------------


@dataclass(frozen=True)
class Node:
    """One DER element: its identifier octet and its contents."""

    tag: int
    body: bytes

    def children(self) -> list[Node]:
        nodes, offset = [], 0
        while offset < len(self.body):
            node, offset = _read(self.body, offset)
            nodes.append(node)
        return nodes

    def expect(self, tag: int) -> Node:
        if self.tag != tag:
            raise Malformed(f"expected tag {tag:#x}, found {self.tag:#x}")
        return self

    def integer(self) -> int:
        self.expect(_INTEGER)
        if not self.body:
            raise Malformed("empty INTEGER")
        return int.from_bytes(self.body, signed=True)

    def octets(self) -> bytes:
        return self.expect(_OCTETS).body

    def oid(self) -> str:
        self.expect(_OID)
        arcs, value = [], 0
        for byte in self.body:
            value = (value << 7) | (byte & 0x7F)
            if not byte & 0x80:
                arcs.append(value)
                value = 0
        if not arcs:
            raise Malformed("empty OBJECT IDENTIFIER")
        first = min(arcs[0] // 40, 2)
        return ".".join(str(a) for a in [first, arcs[0] - 40 * first, *arcs[1:]])


def parse_der(data: bytes) -> Node:
    """The single DER element that spans `data`; `Malformed` otherwise."""
    node, end = _read(data, 0)
    if end != len(data):
        raise Malformed("trailing bytes after the DER element")
    return node


def _read(data: bytes, offset: int) -> tuple[Node, int]:
    if offset + 2 > len(data):
        raise Malformed("truncated DER")
    tag, first = data[offset], data[offset + 1]
    if tag & 0x1F == 0x1F:
        raise Malformed("multi-byte DER tags are not used here")
    start = offset + 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4:
            raise Malformed("indefinite or oversized DER length")
        length = int.from_bytes(data[start : start + count])
        start += count
    else:
        length = first
    if start + length > len(data):
        raise Malformed("truncated DER")
    return Node(tag, data[start : start + length]), start + length


def _fields(node: Node, minimum: int, tag: int = _SEQUENCE) -> list[Node]:
    children = node.expect(tag).children()
    if len(children) < minimum:
        raise Malformed("a SEQUENCE lacks fields")
    return children


def _explicit(node: Node) -> Node:
    inner = node.expect(_CONTEXT_0).children()
    if len(inner) != 1:
        raise Malformed("[0] EXPLICIT holds one element")
    return inner[0]


@dataclass(frozen=True)
class Algorithm:
    oid: str
    parameters: Node | None


def _algorithm(node: Node) -> Algorithm:
    children = _fields(node, 1)
    return Algorithm(children[0].oid(), children[1] if len(children) > 1 else None)


def _parameters(algorithm: Algorithm, minimum: int) -> list[Node]:
    if algorithm.parameters is None:
        raise Malformed(f"{algorithm.oid} lacks its parameters")
    return _fields(algorithm.parameters, minimum)


# --- the cost budget ---------------------------------------------------------------------------


@dataclass
class Budget:
    """Key-derivation work allowed for one file; `spend` refuses before the work is done."""

    left: int = MAX_TOTAL_ITERATIONS

    def spend(self, what: str, iterations: int) -> None:
        if iterations < 1:
            raise Malformed(f"{what} = {iterations}")
        if iterations > MAX_ITERATIONS:
            raise TooCostly(what, iterations, MAX_ITERATIONS)
        if iterations > self.left:
            raise TooCostly(
                "total iterations",
                MAX_TOTAL_ITERATIONS - self.left + iterations,
                MAX_TOTAL_ITERATIONS,
            )
        self.left -= iterations


def check_algorithm(algorithm: Algorithm, budget: Budget) -> None:
    """Charge the derivation `algorithm` would run; refuse schemes whose cost is unknown."""
    if algorithm.oid == PBES2:
        kdf = _algorithm(_parameters(algorithm, 2)[0])
        _check_kdf(kdf, budget)
    elif algorithm.oid in PKCS12_PBE or algorithm.oid in PBES1:
        # PKCS#12 PBE derives key and IV separately; PBES1 once. Charge the larger.
        rounds = _parameters(algorithm, 2)[1].integer()
        budget.spend("PBE iterations", rounds)
        if algorithm.oid in PKCS12_PBE:
            budget.spend("PBE iterations", rounds)
    else:
        raise Unsupported(f"encryption scheme {algorithm.oid}")


def _check_kdf(kdf: Algorithm, budget: Budget) -> None:
    if kdf.oid == PBKDF2:
        budget.spend("PBKDF2 iterations", _parameters(kdf, 2)[1].integer())
    elif kdf.oid == SCRYPT:
        fields = _parameters(kdf, 4)
        n, r, p = (f.integer() for f in fields[1:4])
        for name, value, cap in (
            ("N", n, MAX_SCRYPT_N),
            ("r", r, MAX_SCRYPT_R),
            ("p", p, MAX_SCRYPT_P),
        ):
            if value > cap:
                raise TooCostly(f"scrypt {name}", value, cap)
        budget.spend("scrypt", MAX_ITERATIONS)  # each scrypt counts as a capped derivation
    else:
        raise Unsupported(f"key derivation {kdf.oid}")


# --- encrypted PKCS#8 keys ---------------------------------------------------------------------


def is_encrypted_private_key(der: bytes) -> bool:
    """Whether `der` is shaped like an EncryptedPrivateKeyInfo (AlgorithmIdentifier, OCTETS)."""
    try:
        fields = parse_der(der).expect(_SEQUENCE).children()
        return len(fields) == 2 and fields[0].tag == _SEQUENCE and fields[1].tag == _OCTETS
    except Malformed:
        return False


def check_encrypted_private_key(der: bytes) -> None:
    """Refuse an EncryptedPrivateKeyInfo whose derivation is too costly or unknown."""
    fields = _fields(parse_der(der), 2)
    fields[1].octets()
    check_algorithm(_algorithm(fields[0]), Budget())


# --- PKCS#12 -----------------------------------------------------------------------------------


@dataclass
class _Pkcs12Walk:
    password: bytes | None
    budget: Budget = field(default_factory=Budget)

    def pfx(self, data: bytes) -> None:
        fields = _fields(parse_der(data), 2)
        if fields[0].integer() != 3:
            raise Malformed("PFX version is not 3")
        if len(fields) > 2:
            self.mac(fields[2])
        content_type, content = _content_info(fields[1])
        if content_type != DATA:
            raise Unsupported(f"authSafe of type {content_type} (public-key integrity)")
        for safe in parse_der(content.octets()).expect(_SEQUENCE).children():
            self.authenticated_safe(safe)

    def mac(self, node: Node) -> None:
        fields = _fields(node, 2)
        digest = _algorithm(_fields(fields[0], 2)[0])
        if digest.oid == PBMAC1:  # RFC 9579: the iterations are PBKDF2's, not MacData's
            _check_kdf(_algorithm(_parameters(digest, 2)[0]), self.budget)
        elif len(fields) > 2:
            # Without a password OpenSSL tries the MAC twice (no password, then "").
            for _ in range(1 if self.password else 2):
                self.budget.spend("MAC iterations", fields[2].integer())

    def authenticated_safe(self, node: Node) -> None:
        content_type, content = _content_info(node)
        if content_type == DATA:
            self.safe_contents(content.octets(), 0)
        elif content_type == ENCRYPTED_DATA:
            self.safe_contents(self.decrypt(content), 0)
        else:
            raise Unsupported(f"authSafe content of type {content_type}")

    def decrypt(self, node: Node) -> bytes:
        info = _fields(_fields(node, 2)[1], 3)
        algorithm = _algorithm(info[1])
        check_algorithm(algorithm, self.budget)
        ciphertext = info[2].expect(_IMPLICIT_OCTETS_0).body
        return decrypt_content(algorithm, ciphertext, self.password, self.budget)

    def safe_contents(self, der: bytes, depth: int) -> None:
        if depth > MAX_NESTING:
            raise Unsupported("safe contents nested too deep")
        for bag in parse_der(der).expect(_SEQUENCE).children():
            fields = _fields(bag, 2)
            kind, value = fields[0].oid(), _explicit(fields[1])
            if kind == SHROUDED_KEY_BAG:
                check_algorithm(_algorithm(_fields(value, 2)[0]), self.budget)
            elif kind == SAFE_CONTENTS_BAG:
                self.safe_contents(_encode(value), depth + 1)


def check_pkcs12(data: bytes, password: bytes | None) -> None:
    """Refuse a PKCS#12 file whose key derivations, all counted, exceed the caps.

    Reads MacData (or PBMAC1), every authSafe, every bag; decrypts `encryptedData` blocks with
    `password` (within the budget) to see their bags. Raises `Malformed`, `Unsupported`,
    `TooCostly`, or `CannotOpen` when the password does not decrypt a block.
    """
    _Pkcs12Walk(password).pfx(data)


def _content_info(node: Node) -> tuple[str, Node]:
    fields = _fields(node, 2)
    return fields[0].oid(), _explicit(fields[1])


def _encode(node: Node) -> bytes:
    length = len(node.body)
    if length < 0x80:
        return bytes([node.tag, length]) + node.body
    size = (length.bit_length() + 7) // 8
    return bytes([node.tag, 0x80 | size]) + length.to_bytes(size) + node.body


# --- decrypting encryptedData ------------------------------------------------------------------


def decrypt_content(
    algorithm: Algorithm, ciphertext: bytes, password: bytes | None, budget: Budget
) -> bytes:
    """Plaintext of a PKCS#12 `encryptedData` block; its first attempt is already charged,
    each further password candidate is charged here."""
    if algorithm.oid == PBES2:
        open_ = _pbes2_opener(algorithm)
        candidates = [password or b""]
    elif PKCS12_PBE.get(algorithm.oid) in _PKCS12_CIPHERS:
        open_ = _pkcs12_pbe_opener(algorithm)
        candidates = _bmp_passwords(password)
    else:
        raise Unsupported(f"encryptedData scheme {algorithm.oid}")
    for attempt, candidate in enumerate(candidates):
        if attempt:
            check_algorithm(algorithm, budget)
        plaintext = open_(candidate, ciphertext)
        if plaintext is not None:
            return plaintext
    raise CannotOpen("the password does not decrypt the encrypted contents")


_Opener = Callable[[bytes, bytes], bytes | None]


def _pbes2_opener(algorithm: Algorithm) -> _Opener:
    kdf_node, scheme_node = _parameters(algorithm, 2)[:2]
    kdf, scheme = _algorithm(kdf_node), _algorithm(scheme_node)
    if kdf.oid != PBKDF2:
        raise Unsupported(f"encryptedData key derivation {kdf.oid}")
    kdf_fields = _parameters(kdf, 2)
    salt, rounds = kdf_fields[0].octets(), kdf_fields[1].integer()
    prf = next((f for f in kdf_fields[2:] if f.tag == _SEQUENCE), None)
    digest = _PRFS.get(_algorithm(prf).oid) if prf else hashes.SHA1
    key_size = _AES_CBC.get(scheme.oid) or (24 if scheme.oid == _DES_EDE3_CBC else None)
    if digest is None or key_size is None or scheme.parameters is None:
        raise Unsupported(f"PBES2 with {scheme.oid}")
    iv = scheme.parameters.octets()

    def open_(password: bytes, ciphertext: bytes) -> bytes | None:
        key = PBKDF2HMAC(digest(), key_size, salt, rounds).derive(password)
        cipher = algorithms.AES(key) if scheme.oid in _AES_CBC else TripleDES(key)
        return _cbc_decrypt(cipher, iv, ciphertext)

    return open_


def _pkcs12_pbe_opener(algorithm: Algorithm) -> _Opener:
    fields = _parameters(algorithm, 2)
    salt, rounds = fields[0].octets(), fields[1].integer()
    cipher, key_size = _PKCS12_CIPHERS[PKCS12_PBE[algorithm.oid]]

    def open_(password: bytes, ciphertext: bytes) -> bytes | None:
        key = pkcs12_kdf(password, salt, 1, rounds, key_size)
        iv = pkcs12_kdf(password, salt, 2, rounds, 8)
        if cipher == "3des":
            return _cbc_decrypt(TripleDES(key), iv, ciphertext)
        if len(ciphertext) % 8 or not ciphertext:
            raise Malformed("RC2 ciphertext of the wrong length")
        return _unpad(rc2.decrypt_cbc(key, 8 * key_size, iv, ciphertext), 64)

    return open_


def _cbc_decrypt(cipher: BlockCipherAlgorithm, iv: bytes, ciphertext: bytes) -> bytes | None:
    """The unpadded plaintext, or None when the padding (so the password) is wrong."""
    block = cipher.block_size // 8
    if len(iv) != block or not ciphertext or len(ciphertext) % block:
        raise Malformed("ciphertext or IV of the wrong length")
    decryptor = Cipher(cipher, modes.CBC(iv)).decryptor()
    return _unpad(decryptor.update(ciphertext) + decryptor.finalize(), cipher.block_size)


def _unpad(padded: bytes, block_bits: int) -> bytes | None:
    """PKCS#7 padding removed; None when it (so the password) is wrong, or what it hid is not
    DER, which a wrong key yields with valid-looking padding once in a few hundred tries."""
    unpadder = padding.PKCS7(block_bits).unpadder()
    try:
        plaintext = unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        return None
    return plaintext if plaintext[:1] == bytes([_SEQUENCE]) else None


def _bmp_passwords(password: bytes | None) -> list[bytes]:
    """PKCS#12 passwords are BMPStrings with a terminating NUL; no password is tried both as
    the empty string and as no string at all, as OpenSSL does."""
    if not password:
        return [b"\x00\x00", b""]
    try:
        text = password.decode()
    except UnicodeDecodeError:
        text = password.decode("latin-1")
    return [text.encode("utf-16-be") + b"\x00\x00"]


def pkcs12_kdf(password: bytes, salt: bytes, purpose: int, rounds: int, size: int) -> bytes:
    """RFC 7292 Appendix B.2 with SHA-1 (the only hash OpenSSL's PKCS#12 PBE uses)."""
    u, v = 20, 64
    diversifier = bytes([purpose]) * v
    material = _stretch(salt, v) + _stretch(password, v)
    output = b""
    for _ in range(math.ceil(size / u)):
        digest = hashlib.sha1(diversifier + material, usedforsecurity=False).digest()
        for _ in range(rounds - 1):
            digest = hashlib.sha1(digest, usedforsecurity=False).digest()
        output += digest
        increment = int.from_bytes(_stretch(digest, v)) + 1
        material = b"".join(
            ((int.from_bytes(material[i : i + v]) + increment) % (1 << (8 * v))).to_bytes(v)
            for i in range(0, len(material), v)
        )
    return output[:size]


def _stretch(data: bytes, v: int) -> bytes:
    """`data` repeated to the next multiple of v bytes (nothing for empty data)."""
    if not data:
        return b""
    length = v * math.ceil(len(data) / v)
    return (data * math.ceil(length / len(data)))[:length]
