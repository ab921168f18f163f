"""The keyring remembers tokens it verified, and still refuses them once their time is up
(exp with the leeway), for another kind, or with a changed signature."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from gateway.auth import tokens
from gateway.auth.tokens import LEEWAY_SECONDS, InvalidToken, Keyring, TokenKind

KEYS = {"k1": "a-test-secret-of-at-least-32-bytes!!"}


@pytest.fixture
def keyring() -> Keyring:
    return Keyring("test-issuer", "k1", KEYS)


def test_a_cached_token_is_refused_once_it_expires(keyring: Keyring) -> None:
    # given a token that expires (leeway included) about one second from now, verified once
    ttl = 60
    issued_at = datetime.now(UTC) - timedelta(seconds=ttl + LEEWAY_SECONDS - 1)
    token = keyring.issue(TokenKind.PARTNER, "stf_1", ttl, now=issued_at).token
    assert keyring.verify(token, TokenKind.PARTNER)["sub"] == "stf_1"
    assert keyring.verify(token, TokenKind.PARTNER)["sub"] == "stf_1"  # from the cache
    # when its time is up
    time.sleep(1.5)
    # then it is refused, from the cache as on a first sight
    with pytest.raises(InvalidToken):
        keyring.verify(token, TokenKind.PARTNER)
    with pytest.raises(InvalidToken):
        Keyring("test-issuer", "k1", KEYS).verify(token, TokenKind.PARTNER)


def test_a_cached_token_is_not_valid_as_another_kind(keyring: Keyring) -> None:
    token = keyring.issue(TokenKind.PARTNER, "stf_1", 600).token
    keyring.verify(token, TokenKind.PARTNER)
    with pytest.raises(InvalidToken):
        keyring.verify(token, TokenKind.MEMBER)


def test_a_tampered_copy_of_a_cached_token_is_refused(keyring: Keyring) -> None:
    token = keyring.issue(TokenKind.PARTNER, "stf_1", 600).token
    keyring.verify(token, TokenKind.PARTNER)
    head, body, signature = token.split(".")
    forged = f"{head}.{body}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    with pytest.raises(InvalidToken):
        keyring.verify(forged, TokenKind.PARTNER)


def test_callers_cannot_change_the_cached_claims(keyring: Keyring) -> None:
    token = keyring.issue(TokenKind.PARTNER, "stf_1", 600).token
    keyring.verify(token, TokenKind.PARTNER)["sub"] = "stf_other"
    assert keyring.verify(token, TokenKind.PARTNER)["sub"] == "stf_1"


def test_the_cache_is_bounded(keyring: Keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_CACHE_SIZE", 3)
    issued = [keyring.issue(TokenKind.PARTNER, f"stf_{i}", 600).token for i in range(5)]
    for token in issued:
        keyring.verify(token, TokenKind.PARTNER)
    assert len(keyring._verified) == 3
    # the oldest went out; verifying it again still works (signature checked anew)
    assert keyring.verify(issued[0], TokenKind.PARTNER)["sub"] == "stf_0"


def test_the_kind_of_a_token_comes_from_its_header_then_from_memory(
    keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a member token, a token with an unknown typ and a string that is no JWT
    token = keyring.issue(TokenKind.MEMBER, "mem_1", 600).token
    other = tokens.jwt.encode({"sub": "x"}, KEYS["k1"], headers={"typ": "session+jwt"})
    # then the header names the kind, or none
    assert keyring.kind_of(token) is TokenKind.MEMBER
    assert keyring.kind_of(other) is None
    assert keyring.kind_of("not.a.jwt") is None
    # when the token verified once, its header is not parsed again
    keyring.verify(token, TokenKind.MEMBER)

    def parse_refused(_token: str) -> dict[str, str]:
        raise AssertionError("the header of a remembered token is parsed again")

    monkeypatch.setattr(tokens.jwt, "get_unverified_header", parse_refused)
    assert keyring.kind_of(token) is TokenKind.MEMBER
    # while a token never verified is still read from its header
    with pytest.raises(AssertionError):
        keyring.kind_of(other)
