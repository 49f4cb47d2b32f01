"""A public resolver stand-in on loopback: answers NS queries the way the internet would.

The delegation check of roles/aws_dns asks public resolvers for the domain's NS records. A test
points it here (aws_dns_delegation_resolvers=[127.0.0.1], aws_dns_delegation_resolver_port) and
decides what "the internet" answers: nothing yet (NXDOMAIN, as before the delegation), another
provider's name servers, or the zone's own once the operator delegated it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset


@dataclass
class PublicDns:
    """NS answers by domain; a domain not in `delegations` does not exist (NXDOMAIN)."""

    port: int
    delegations: dict[str, list[str]] = field(default_factory=dict)
    queries: list[str] = field(default_factory=list)

    def answer(self, wire: bytes) -> bytes:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text().rstrip(".").lower()
        self.queries.append(f"{name}/{dns.rdatatype.to_text(question.rdtype)}")
        servers = self.delegations.get(name)
        if servers is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif question.rdtype == dns.rdatatype.NS:
            targets = [server.rstrip(".") + "." for server in servers]
            response.answer.append(dns.rrset.from_text_list(question.name, 300, dns.rdataclass.IN, "NS", targets))
        return response.to_wire()


@contextmanager
def public_dns() -> Iterator[PublicDns]:
    """A UDP DNS server on 127.0.0.1 (a free port) for the duration of the block."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    server = PublicDns(port=sock.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            sock.sendto(server.answer(wire), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join()
        sock.close()
