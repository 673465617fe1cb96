"""The HTTP fence's rules (skill/http_fence.py), which the MCP server's HTTP transport and the dashboard
both stand behind: who needs a token, where a request carries it, which Host and Origin are this server's."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest

from skill import http_fence as fence
from skill.errors import InvalidInput

TOKEN = "a-token-of-sixteen-or-more"


def query(text: str) -> list[tuple[str, str]]:
    return parse_qsl(text, keep_blank_values=True)


def test_only_the_loopback_names_may_start_without_a_token_given() -> None:
    for host in fence.LOOPBACK_HOSTS:
        auth = fence.resolve_auth(host, None)
        assert auth.generated and len(auth.token or "") >= 32
        assert fence.resolve_auth(host, None, no_auth=True) == (None, False)
    for host in ("127.0.0.2", "0.0.0.0", "10.0.0.1"):  # 127.0.0.2 is loopback, but not a name let go
        with pytest.raises(InvalidInput, match="pass --token"):
            fence.resolve_auth(host, None, how="pass --token")
        with pytest.raises(InvalidInput, match="loopback"):
            fence.resolve_auth(host, None, no_auth=True)
        assert fence.resolve_auth(host, TOKEN) == (TOKEN, False)


def test_a_short_or_spaced_token_is_refused_without_being_echoed() -> None:
    for bad in ("short", "has a space in it somewhere"):
        with pytest.raises(InvalidInput) as caught:
            fence.check_token("127.0.0.1", bad)
        assert bad not in str(caught.value) and "16 characters" in str(caught.value)


def test_the_header_wins_over_the_query_and_a_repeated_parameter_presents_nothing() -> None:
    assert fence.presented_token(f"Bearer {TOKEN}", query("token=other")) == TOKEN
    assert fence.presented_token(f"bearer  {TOKEN} ", []) == TOKEN
    assert fence.presented_token(f"Basic {TOKEN}", query(f"token={TOKEN}")) is None
    assert fence.presented_token(None, query(f"a=1&token={TOKEN}")) == TOKEN
    assert fence.presented_token(None, query(f"token={TOKEN}&token={TOKEN}")) is None
    assert fence.presented_token(None, query("a=1")) is None
    assert fence.token_matches(TOKEN, TOKEN)
    assert not fence.token_matches(TOKEN[:-1], TOKEN) and not fence.token_matches(None, TOKEN)
    assert not fence.token_matches("", TOKEN)


def test_the_token_is_taken_out_of_the_query_passed_on() -> None:
    assert fence.query_without_token(query(f"a=1&token={TOKEN}&b=2")) == "a=1&b=2"
    assert fence.query_without_token(query("a=1&b=2")) is None


def test_host_and_origin_name_this_server_only() -> None:
    hosts, origins = fence.allowed_hosts("127.0.0.1"), fence.allowed_origins("127.0.0.1")
    for good in ("127.0.0.1:8765", "localhost:8765", "[::1]:8765", "localhost"):
        assert fence.host_allowed(good, hosts)
    for bad in ("evil.example.com", "evil.example.com:8765", "localhost.evil.com:80", "", None):
        assert not fence.host_allowed(bad, hosts)
    assert fence.origin_allowed(None, origins) and fence.origin_allowed("http://localhost:5173", origins)
    assert not fence.origin_allowed("https://evil.example.com", origins)
    wide = fence.allowed_hosts("::", ["box.lan"])
    assert fence.host_allowed("[::]:8765", wide) and fence.host_allowed("box.lan:8765", wide)
    assert not fence.host_allowed("[::]:8765", hosts)
