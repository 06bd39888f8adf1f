"""Credentials in URLs are masked in one place for logs and ``--print-config``."""

from __future__ import annotations

from onlineconnect.config import mask, mask_url


def test_mask_url_hides_user_and_password_of_each_url() -> None:
    """Every comma-separated URL loses its user info; hosts, ports and paths stay readable."""
    urls = "nats://gw:s3cret@nats-1:4222,nats://nats-2:4222,tls://token@nats-3:4443/x"
    assert mask_url(urls) == "nats://***@nats-1:4222,nats://nats-2:4222,tls://***@nats-3:4443/x"
    assert "s3cret" not in mask_url(urls) and "token" not in mask_url(urls)


def test_mask_hides_any_secret_but_shows_that_none_is_set() -> None:
    """A set secret prints as ***, an empty one as empty."""
    assert mask("k") == "***" and mask("") == ""
