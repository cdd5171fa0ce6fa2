"""Which hosts and peers are loopback, and membership of trusted networks."""

from __future__ import annotations

import ipaddress

import pytest

from gatehouse.core.network import in_networks, is_loopback_host, parse_address


@pytest.mark.parametrize(
    "host",
    [
        "localhost",
        "LOCALHOST",
        "localhost.",
        "127.0.0.1",
        "127.1.2.3",
        "::1",
        "[::1]",
        "::ffff:127.0.0.1",
    ],
)
def test_loopback_hosts(host: str) -> None:
    assert is_loopback_host(host)


@pytest.mark.parametrize(
    "host",
    [
        "0.0.0.0",  # noqa: S104 (not loopback)
        "::",
        "192.0.2.10",
        "10.0.0.1",
        "2001:db8::1",
        "example.com",
        "localhost.example.com",
        "",
    ],
)
def test_hosts_that_are_not_loopback(host: str) -> None:
    assert not is_loopback_host(host)


def test_addresses_are_parsed_with_brackets_and_ipv4_mapped_forms() -> None:
    assert parse_address("[2001:db8::1]") == ipaddress.ip_address("2001:db8::1")
    assert parse_address("::ffff:10.0.0.5") == ipaddress.ip_address("10.0.0.5")
    assert parse_address("testclient") is None


def test_membership_of_networks() -> None:
    networks = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")]
    assert in_networks("10.1.2.3", networks)
    assert in_networks("2001:db8::7", networks)
    assert not in_networks("192.0.2.1", networks)
    assert not in_networks("not-an-address", networks)
    assert not in_networks("10.1.2.3", [])
