"""arca.pbe: key-derivation costs read from PKCS#12 and PKCS#8 structures before any is paid."""

from __future__ import annotations

import datetime as dt
import os
import time

import pytest
from cryptography import x509
from cryptography.hazmat.decrepit.ciphers.algorithms import RC2
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from arca import pbe, pki, rc2
from tests import der


@pytest.fixture(scope="module")
def pair() -> tuple[object, x509.Certificate]:
    key = pki.generate_private_key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "prueba")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, certificate


def bundle(pair: tuple[object, x509.Certificate], encryption: object) -> bytes:
    key, certificate = pair
    return pkcs12.serialize_key_and_certificates(b"n", key, certificate, None, encryption)  # type: ignore[arg-type]


def builder(rounds: int = 2048) -> serialization.KeySerializationEncryptionBuilder:
    return serialization.PrivateFormat.PKCS12.encryption_builder().kdf_rounds(rounds)


@pytest.mark.parametrize(
    "encryption",
    [
        serialization.BestAvailableEncryption(b"clave"),
        builder().key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC).build(b"clave"),
        builder()
        .key_cert_algorithm(pkcs12.PBES.PBESv1SHA1And3KeyTripleDESCBC)
        .hmac_hash(hashes.SHA1())  # noqa: S303  (the legacy format Windows writes)
        .build(b"clave"),
        builder(10_000).build(b"clave"),
    ],
    ids=["best-available", "aes", "3des", "10k-rounds"],
)
def test_ordinary_pkcs12_files_pass(
    pair: tuple[object, x509.Certificate], encryption: object
) -> None:
    data = bundle(pair, encryption)
    pbe.check_pkcs12(data, b"clave")
    assert pki.load_pkcs12(data, b"clave")[1] == pair[1]


def test_an_unencrypted_pkcs12_passes(pair: tuple[object, x509.Certificate]) -> None:
    pbe.check_pkcs12(bundle(pair, serialization.NoEncryption()), None)


def test_60m_rounds_are_refused_before_any_derivation(
    pair: tuple[object, x509.Certificate],
) -> None:
    data = bundle(pair, builder(60_000_000).build(b"clave"))
    started = time.perf_counter()
    with pytest.raises(pki.KdfTooCostly) as refused:
        pki.load_pkcs12(data, b"clave")
    assert time.perf_counter() - started < 1.0
    assert refused.value.value == 60_000_000


def test_the_wrong_password_is_told_apart(pair: tuple[object, x509.Certificate]) -> None:
    data = bundle(pair, serialization.BestAvailableEncryption(b"clave"))
    with pytest.raises(pki.WrongPassword):
        pki.load_pkcs12(data, b"otra")


def test_many_cheap_derivations_add_up_to_the_total_cap() -> None:
    budget = pbe.Budget()
    for _ in range(pbe.MAX_TOTAL_ITERATIONS // pbe.MAX_ITERATIONS):
        budget.spend("PBKDF2 iterations", pbe.MAX_ITERATIONS)
    with pytest.raises(pbe.TooCostly):
        budget.spend("PBKDF2 iterations", 1)


def encrypted_data(plaintext: bytes, password: bytes) -> bytes:
    """A PKCS#12 encryptedData ContentInfo, PBES2/PBKDF2-SHA256/AES-256-CBC, 2048 rounds."""
    salt, iv = os.urandom(16), os.urandom(16)
    key = PBKDF2HMAC(hashes.SHA256(), 32, salt, 2048).derive(password)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = (
        encryptor.update(padder.update(plaintext) + padder.finalize()) + encryptor.finalize()
    )
    kdf = der.seq(
        der.oid(der.PBKDF2),
        der.seq(der.octets(salt), der.integer(2048), der.seq(der.oid(der.HMAC_SHA256))),
    )
    algorithm = der.seq(
        der.oid(der.PBES2), der.seq(kdf, der.seq(der.oid(der.AES_256_CBC), der.octets(iv)))
    )
    info = der.seq(der.oid(pbe.DATA), algorithm, der.tlv(0x80, ciphertext))
    return der.seq(der.oid(pbe.ENCRYPTED_DATA), der.explicit0(der.seq(der.integer(0), info)))


def test_a_costly_key_hidden_inside_encrypted_contents_is_found() -> None:
    """A shrouded key bag of 60 M rounds inside a cheaply encrypted block: only visible once
    that block is decrypted, which the check does within its budget."""
    hidden_key = der.seq(der.pbes2_pbkdf2(60_000_000), der.octets(os.urandom(64)))
    bag = der.seq(der.oid(pbe.SHROUDED_KEY_BAG), der.explicit0(hidden_key))
    auth_safe = der.seq(encrypted_data(der.seq(bag), b"clave"))
    pfx = der.seq(der.integer(3), der.seq(der.oid(pbe.DATA), der.explicit0(der.octets(auth_safe))))
    with pytest.raises(pbe.TooCostly):
        pbe.check_pkcs12(pfx, b"clave")
    with pytest.raises(pbe.CannotOpen):
        pbe.check_pkcs12(pfx, b"otra")


@pytest.mark.parametrize(
    ("algorithm", "refused"),
    [
        (der.pbes2_pbkdf2(2048), False),
        (der.pbes2_pbkdf2(100_001), True),
        (der.pbes2_scrypt(2**14, 8, 1), False),
        (der.pbes2_scrypt(2**20, 8, 1), True),
        (der.pbes2_scrypt(2**14, 8, 64), True),
    ],
)
def test_encrypted_pkcs8_keys_are_capped(algorithm: bytes, refused: bool) -> None:
    pem = der.encrypted_key_pem(algorithm)
    if refused:
        with pytest.raises(pki.KdfTooCostly):
            pki.load_private_key(pem, b"clave")
    else:
        with pytest.raises(pki.WrongPassword):  # the ciphertext is noise: derived, then refused
            pki.load_private_key(pem, b"clave")


def test_a_real_encrypted_key_still_opens() -> None:
    key = pki.generate_private_key()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"clave"),
    )
    assert pki.load_private_key(pem, b"clave").private_numbers() == key.private_numbers()
    der_bytes = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"clave"),
    )
    assert pki.load_private_key(der_bytes, b"clave").private_numbers() == key.private_numbers()


def test_malformed_der_is_refused() -> None:
    for data in (b"", b"\x30\x80\x00\x00", b"\x30\x05\x02\x01", b"\x30\x03\x02\x01\x03\x00"):
        with pytest.raises(pbe.Malformed):
            pbe.check_pkcs12(data, None)


@pytest.mark.parametrize(
    ("key", "bits", "plaintext", "ciphertext"),
    [  # RFC 2268 section 5
        ("0000000000000000", 63, "0000000000000000", "ebb773f993278eff"),
        ("ffffffffffffffff", 64, "ffffffffffffffff", "278b27e42e2f0d49"),
        ("3000000000000000", 64, "1000000000000001", "30649edf9be7d2c2"),
    ],
)
def test_rc2_matches_rfc_2268(key: str, bits: int, plaintext: str, ciphertext: str) -> None:
    words = rc2.expand_key(bytes.fromhex(key), bits)
    assert rc2.decrypt_block(words, bytes.fromhex(ciphertext)).hex() == plaintext


def test_rc2_cbc_matches_cryptography_at_128_bits() -> None:
    key, iv, plaintext = os.urandom(16), os.urandom(8), os.urandom(64)
    encryptor = Cipher(RC2(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(plaintext) + encryptor.finalize()
    assert rc2.decrypt_cbc(key, 128, iv, ciphertext) == plaintext
