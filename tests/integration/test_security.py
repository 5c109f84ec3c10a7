"""TLS (rediss://), Redis AUTH, and no prompt or answer in logs above debug level."""

from __future__ import annotations

import datetime
import logging
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from harness.services import RedisServer, free_port, start_redis
from litellm_semcache.ops.embedded_redis import redis_stack_binaries
from tests.builders import chat, completion

SECRET_QUESTION = "What is the recipe of the secret sauce number 7?"
SECRET_ANSWER = "Mayonnaise, ketchup and a pinch of smoked paprika."


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name | None = None,
    issuer_key: ec.EllipticCurvePrivateKey | None = None,
    ca: bool = False,
) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False
        )
    return builder.sign(issuer_key or key, hashes.SHA256())


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A Redis Stack that only speaks TLS, with a certificate from a throwaway CA."""
    folder = tmp_path_factory.mktemp("tls")
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_cert = _certificate("semcache test CA", ca_key, ca=True)
    server_cert = _certificate("localhost", server_key, issuer=ca_cert.subject, issuer_key=ca_key)
    for name, blob in {
        "ca.pem": ca_cert.public_bytes(serialization.Encoding.PEM),
        "server.pem": server_cert.public_bytes(serialization.Encoding.PEM),
        "server.key": server_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    }.items():
        (folder / name).write_bytes(blob)
    server, modules = redis_stack_binaries()
    port = free_port()
    command = [
        str(server),
        "--port",
        "0",
        "--tls-port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--tls-cert-file",
        str(folder / "server.pem"),
        "--tls-key-file",
        str(folder / "server.key"),
        "--tls-ca-cert-file",
        str(folder / "ca.pem"),
        "--tls-auth-clients",
        "no",
        "--save",
        "",
        "--dir",
        str(folder),
    ]
    for module in modules:
        command += ["--loadmodule", str(module)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"rediss://localhost:{port}/0?ssl_ca_certs={folder / 'ca.pem'}&ssl_cert_reqs=required"
    client = redis.Redis.from_url(url, socket_timeout=1)
    try:
        for _ in range(100):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                import time

                time.sleep(0.1)
        yield url, folder
    finally:
        client.close()
        process.terminate()
        process.wait(10)


async def test_rediss_tls_works(tls_redis: tuple[str, Path], backend_factory: Any) -> None:
    url, _ = tls_redis
    backend = backend_factory(redis_url=url)
    await backend.async_set_cache("k", completion("Paris."), **chat("What is the capital of France?"))
    cached = await backend.async_get_cache("k", **chat("Can you tell me the capital of France?"))
    assert cached is not None


async def test_plain_redis_is_refused_by_a_tls_server(
    tls_redis: tuple[str, Path], backend_factory: Any
) -> None:
    url, _ = tls_redis
    plain = url.replace("rediss://", "redis://").split("?")[0]
    backend = backend_factory(redis_url=plain)
    found = await backend.lookup(chat("What is the capital of France?"))
    assert found.status == "error"  # fails open: the request would go to the provider


@pytest.fixture(scope="module")
def auth_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = start_redis(tmp_path_factory.mktemp("auth"), password="s3cret-pw")
    yield server
    server.stop()


async def test_redis_auth_in_the_url(auth_redis: RedisServer, backend_factory: Any, index_name: str) -> None:
    good = f"redis://:s3cret-pw@127.0.0.1:{auth_redis.port}/0"
    backend = backend_factory(redis_url=good)
    await backend.async_set_cache("k", completion("Paris."), **chat("What is the capital of France?"))
    assert await backend.async_get_cache("k", **chat("Can you tell me the capital of France?")) is not None

    wrong = backend_factory(redis_url=f"redis://:wrong@127.0.0.1:{auth_redis.port}/0")
    found = await wrong.lookup(chat("Can you tell me the capital of France?"))
    assert found.status == "error"


def test_start_redis_rejects_unauthenticated_clients(auth_redis: RedisServer) -> None:
    with pytest.raises(redis.AuthenticationError):
        redis.Redis(host="127.0.0.1", port=auth_redis.port).ping()


async def test_prompts_and_answers_never_reach_logs_above_debug(
    backend_factory: Any, caplog: pytest.LogCaptureFixture, auth_redis: RedisServer
) -> None:
    caplog.set_level(logging.DEBUG)
    backend = backend_factory()
    await backend.async_set_cache("k", completion(SECRET_ANSWER), **chat(SECRET_QUESTION))
    await backend.async_get_cache("k", **chat(SECRET_QUESTION))
    await backend.async_get_cache("k", **chat("What's the recipe for secret sauce no. 7?"))
    await backend.async_set_cache("k", completion(SECRET_ANSWER + " (cut"), **chat(SECRET_QUESTION + "?"))
    broken = backend_factory(redis_url=f"redis://:wrong@127.0.0.1:{auth_redis.port}/0")  # failures too
    for _ in range(5):
        await broken.async_get_cache("k", **chat(SECRET_QUESTION))
        await broken.async_set_cache("k", completion(SECRET_ANSWER), **chat(SECRET_QUESTION))
    assert any(r.levelno >= logging.WARNING for r in caplog.records)  # the failures were reported ...
    for record in caplog.records:
        if record.levelno > logging.DEBUG:
            message = record.getMessage()
            assert "secret sauce" not in message.lower() and "paprika" not in message.lower(), message
