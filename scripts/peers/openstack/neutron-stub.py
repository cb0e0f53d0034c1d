#!/usr/bin/python3
"""A do-nothing Networking API for nova, on 127.0.0.1 only.

Neutron is not installed. Nova still asks the Networking API about
ports and security groups even for servers created with
"networks": "none" (server show/list asks for the ports' security
groups, delete asks for the server's ports to remove them). Without an
answer those calls fail and a deleted server goes to ERROR. This stub
answers them with empty lists and a single "default" security group.
It is NOT in the Keystone catalog: only nova (via [neutron]
endpoint_override) talks to it, so clients still see a cloud without
a network service.

Usage: neutron-stub.py PORT
"""
import json
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

DEFAULT_SG = str(uuid.uuid5(uuid.NAMESPACE_URL, "makonis-neutron-stub-default-sg"))
EMPTY = {
    "ports": "ports",
    "networks": "networks",
    "subnets": "subnets",
    "floatingips": "floatingips",
    "extensions": "extensions",
    "trunks": "trunks",
    "qos/policies": "policies",
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("%s %s\n" % (self.command, self.path))

    def send_json(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = urlparse(self.path).path.rstrip("/")
        if path.endswith(".json"):
            path = path[: -len(".json")]
        if path in ("", "/"):
            return self.send_json(200, {"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
                {"rel": "self", "href": "http://127.0.0.1:%d/v2.0/" % self.server.server_port}]}]})
        if path.startswith("/v2.0/"):
            res = path[len("/v2.0/"):]
            if res in EMPTY:
                return self.send_json(200, {EMPTY[res]: []})
            if res == "security-groups":
                return self.send_json(200, {"security_groups": [{
                    "id": DEFAULT_SG, "name": "default", "description": "stub",
                    "tenant_id": "", "project_id": "", "security_group_rules": []}]})
        return self.send_json(404, {"NeutronError": {
            "type": "NotFound", "message": "not in the makonis neutron stub: " + path, "detail": ""}})

    def do_DELETE(self):
        return self.send_json(404, {"NeutronError": {"type": "NotFound", "message": "no such resource", "detail": ""}})

    do_PUT = do_DELETE
    do_POST = do_DELETE


def main():
    port = int(sys.argv[1])
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


if __name__ == "__main__":
    main()
