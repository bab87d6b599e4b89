"""A scripted authoritative server for the signed lab (tests/lab/signed.sh): serves one signed
zone file as NSD would, except that NXDOMAIN answers leave out the NSEC/NSEC3 records that
prove the name does not exist (a validator must call them bogus: EDE 12, NSEC Missing).
NSD always includes the proof, hence this server.

    python3 signed_auth.py --addr 127.63.3.1 --zone nonsec.sig. --file Z.signed --ready FILE

UDP and TCP on ADDR:53; writes FILE once both sockets are bound; serves until SIGTERM.
"""
import argparse
import os
import selectors
import signal
import socket
import struct
import sys

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset
    import dns.zone
except ImportError:  # a Python of its own (pyenv, venv) does not see Debian's python3-dnspython
    sys.path.append("/usr/lib/python3/dist-packages")
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.rcode
    import dns.rdataclass
    import dns.rdatatype
    import dns.rrset
    import dns.zone

RRSIG = dns.rdatatype.RRSIG
DENIAL = (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)


def add(section, node, name, rdtype, dnssec):
    rds = node.get_rdataset(dns.rdataclass.IN, rdtype) if node else None
    if rds is None:
        return False
    section.append(dns.rrset.from_rdata_list(name, rds.ttl, list(rds)))
    if dnssec:
        sigs = node.get_rdataset(dns.rdataclass.IN, RRSIG, rdtype)
        if sigs is not None:
            section.append(dns.rrset.from_rdata_list(name, sigs.ttl, list(sigs)))
    return True


def answer(zone, wire):
    q = dns.message.from_wire(wire)
    r = dns.message.make_response(q)
    r.flags |= dns.flags.AA
    r.flags &= ~dns.flags.RA
    if not q.question:
        r.set_rcode(dns.rcode.FORMERR)
        return r
    qname, qtype = q.question[0].name, q.question[0].rdtype
    dnssec = q.ednsflags & dns.flags.DO != 0
    if not qname.is_subdomain(zone.origin):
        r.flags &= ~dns.flags.AA
        r.set_rcode(dns.rcode.REFUSED)
        return r
    apex = zone.get_node(zone.origin)
    node = zone.get_node(qname)
    if node is not None:
        if not add(r.answer, node, qname, qtype, dnssec):
            # NODATA: SOA and the NSEC of the name (this server only drops NXDOMAIN proofs)
            add(r.authority, apex, zone.origin, dns.rdatatype.SOA, dnssec)
            if dnssec:
                for t in DENIAL:
                    add(r.authority, node, qname, t, dnssec)
        return r
    # NXDOMAIN without any NSEC/NSEC3: the defect this server exists for
    r.set_rcode(dns.rcode.NXDOMAIN)
    add(r.authority, apex, zone.origin, dns.rdatatype.SOA, dnssec)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--port", type=int, default=53)
    ap.add_argument("--zone", required=True)
    ap.add_argument("--file", required=True)
    ap.add_argument("--ready", required=True)
    a = ap.parse_args()
    if not a.addr.startswith("127."):
        sys.exit("signed_auth.py: only 127.0.0.0/8 addresses")
    zone = dns.zone.from_file(a.file, origin=a.zone, relativize=False, check_origin=True)

    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind((a.addr, a.port))
    tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((a.addr, a.port))
    tcp.listen(16)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with open(a.ready + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(a.ready + ".tmp", a.ready)

    sel = selectors.DefaultSelector()
    sel.register(udp, selectors.EVENT_READ)
    sel.register(tcp, selectors.EVENT_READ)
    while True:
        for key, _ in sel.select():
            if key.fileobj is udp:
                wire, peer = udp.recvfrom(65535)
                try:
                    q = dns.message.from_wire(wire)
                    size = max(512, q.payload if q.edns >= 0 else 512)
                    out = answer(zone, wire).to_wire(max_size=size)
                except dns.exception.TooBig:
                    r = dns.message.make_response(q)
                    r.flags |= dns.flags.TC | dns.flags.AA
                    out = r.to_wire()
                except Exception:  # noqa: BLE001 - a bad packet gets no answer
                    continue
                udp.sendto(out, peer)
            else:
                conn, _ = tcp.accept()
                conn.settimeout(2)
                try:
                    n = struct.unpack("!H", conn.recv(2, socket.MSG_WAITALL))[0]
                    out = answer(zone, conn.recv(n, socket.MSG_WAITALL)).to_wire()
                    conn.sendall(struct.pack("!H", len(out)) + out)
                except Exception:  # noqa: BLE001 - one bad TCP client, one closed connection
                    pass
                conn.close()


if __name__ == "__main__":
    main()
