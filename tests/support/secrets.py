"""The secrets the test suite uses, which no log line may ever carry (checked at the end of every run)."""

from __future__ import annotations

KNOWN_SECRETS = (
    "test-shop-key",
    "test-agent-token",
    "demo-shop-key",
    "demo-agent-token",
    "proc-shop-key",
    "proc-agent-token",
    "57ea0dae8fa4ee3ebfc34523b42b3feb",  # demo tenant key
    "00112233445566778899aabbccddeeff",  # onlineconnect/testing/processes.py tenant key
    "000102030405060708090a0b0c0d0e0f",  # tests/test_security_tls.py tenant key
    "0f1e2d3c4b5a69788796a5b4c3d2e1f0",  # tests/test_fuzz_envelope.py tenant key
    "%PDF-",
)


def find_secrets(text: str) -> list[str]:
    """The known test secrets that occur in ``text``."""
    return [s for s in KNOWN_SECRETS if s in text]
