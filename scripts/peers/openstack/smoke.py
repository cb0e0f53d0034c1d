#!/usr/bin/python3
"""Creates N servers (flavour m1.tiny, image cirros-fake, "networks": "none",
compute microversion 2.37) with the application credential from
$MAKONIS_OPENSTACK_DIR/openstack.env, waits until all are ACTIVE, deletes
them and waits until they are gone. Timings go to stderr.

Usage: smoke.py [N] [TIMEOUT_SECONDS]
"""
import concurrent.futures
import os
import sys
import time

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3


def wait_for_compute(env, timeout):
    """After a warm start nova-compute's last heartbeat in the database is
    from before the stop, so the scheduler treats the host as down (and
    builds fail with NoValidHost) until its first report; wait for it."""
    admin = ks_session.Session(auth=v3.Password(
        auth_url=env["OS_AUTH_URL"], username=env["OS_ADMIN_USERNAME"],
        password=env["OS_ADMIN_PASSWORD"], project_name=env["OS_ADMIN_PROJECT_NAME"],
        user_domain_name=env["OS_USER_DOMAIN_NAME"],
        project_domain_name=env["OS_PROJECT_DOMAIN_NAME"]))
    deadline = time.time() + timeout
    while True:
        services = admin.get("/os-services?binary=nova-compute", raise_exc=True,
                             endpoint_filter={"service_type": "compute", "interface": "public"}).json()["services"]
        if any(s["state"] == "up" and s["status"] == "enabled" for s in services):
            return
        if time.time() > deadline:
            sys.exit("smoke: nova-compute did not report as up within %ds: %s" % (timeout, services))
        time.sleep(1)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    timeout = float(sys.argv[2]) if len(sys.argv) > 2 else 180
    env = {}
    with open(os.path.join(os.environ["MAKONIS_OPENSTACK_DIR"], "openstack.env")) as f:
        for line in f:
            k, _, v = line.strip().partition("=")
            env[k] = v
    sess = ks_session.Session(auth=v3.ApplicationCredential(
        auth_url=env["OS_AUTH_URL"],
        application_credential_id=env["OS_APPLICATION_CREDENTIAL_ID"],
        application_credential_secret=env["OS_APPLICATION_CREDENTIAL_SECRET"]))
    kw = dict(endpoint_filter={"service_type": "compute", "interface": "public",
                               "region_name": env["OS_REGION_NAME"]},
              headers={"OpenStack-API-Version": "compute 2.37"}, raise_exc=True)
    wait_for_compute(env, timeout)
    image = sess.get("/v2/images?name=cirros-fake", raise_exc=True,
                     endpoint_filter={"service_type": "image", "interface": "public"}).json()["images"][0]["id"]
    prefix = "makonis-smoke-%d-" % os.getpid()
    t0 = time.time()

    def create(i):
        return sess.post("/servers", json={"server": {
            "name": prefix + str(i), "imageRef": image, "flavorRef": "1",
            "networks": "none"}}, **kw).json()["server"]["id"]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        ids = list(pool.map(create, range(n)))
    t1 = time.time()
    pending = set(ids)
    while pending:
        if time.time() - t0 > timeout:
            sys.exit("smoke: %d of %d servers not ACTIVE after %ds" % (len(pending), n, timeout))
        servers = sess.get("/servers/detail?name=^%s" % prefix, **kw).json()["servers"]
        for s in servers:
            if s["status"] == "ERROR":
                sys.exit("smoke: server %s went to ERROR: %s" % (s["id"], s.get("fault")))
            if s["status"] == "ACTIVE":
                pending.discard(s["id"])
        if pending:
            time.sleep(0.5)
    t2 = time.time()
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda i: sess.delete("/servers/" + i, **kw), ids))
    while True:
        left = sess.get("/servers/detail?name=^%s" % prefix, **kw).json()["servers"]
        if not left:
            break
        for s in left:
            if s["status"] == "ERROR":
                sys.exit("smoke: server %s went to ERROR while deleting: %s" % (s["id"], s.get("fault")))
        if time.time() - t0 > 2 * timeout:
            sys.exit("smoke: %d servers still there after delete" % len(left))
        time.sleep(0.5)
    t3 = time.time()
    print("smoke: %d servers: create requests %.1fs, all ACTIVE after %.1fs, deleted in %.1fs"
          % (n, t1 - t0, t2 - t0, t3 - t2), file=sys.stderr)


if __name__ == "__main__":
    main()
