#!/usr/bin/python3
"""Creates (idempotently) what the Mākonis tests need in the local OpenStack.

Usage: setup.py identity|resources
Environment: MAKONIS_OPENSTACK_DIR (state dir, holds secrets.env),
ADMIN_PASSWORD, SERVICE_PASSWORD, TEST_PASSWORD.

identity:  service project and users (nova, placement, glance), catalog
           entries for placement, image, compute, project makonis-test
           and its user.
resources: flavours, the cirros-fake image, nova quotas of makonis-test,
           the application credential; writes $DIR/openstack.env.
"""
import json
import os
import sys

from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3

AUTH_URL = "http://127.0.0.1:5000/v3"
REGION = "RegionOne"
STATE = os.environ["MAKONIS_OPENSTACK_DIR"]
ENDPOINTS = {
    # type: (name, url)
    "placement": ("placement", "http://127.0.0.1:8778"),
    "image": ("glance", "http://127.0.0.1:9292"),
    "compute": ("nova", "http://127.0.0.1:8774/v2.1"),
}
SERVICE_USERS = ["nova", "placement", "glance"]
TEST_PROJECT = "makonis-test"
TEST_USER = "makonis"
FLAVORS = [
    # id, name, vcpus, ram MB, disk GB
    ("1", "m1.tiny", 1, 512, 1),
    ("2", "m1.small", 1, 2048, 20),
    ("3", "m1.medium", 2, 4096, 40),
    ("4", "m1.large", 4, 8192, 80),
]
QUOTAS = {"instances": 1000, "cores": 4000, "ram": 4 * 1024 * 1024}


def admin_session():
    auth = v3.Password(auth_url=AUTH_URL, username="admin",
                       password=os.environ["ADMIN_PASSWORD"],
                       project_name="admin", user_domain_name="Default",
                       project_domain_name="Default")
    return ks_session.Session(auth=auth)


class Keystone:
    def __init__(self, sess):
        self.s = sess

    def _req(self, method, path, **kw):
        kw.setdefault("raise_exc", True)
        return self.s.request(AUTH_URL + path, method, **kw)

    def find(self, coll, key, **query):
        q = "&".join("%s=%s" % kv for kv in query.items())
        items = self._req("GET", "/%s?%s" % (coll, q)).json()[key]
        return items[0] if items else None

    def ensure(self, coll, key, single, query, body):
        found = self.find(coll, key, **query)
        if found:
            return found
        return self._req("POST", "/" + coll, json={single: body}).json()[single]

    def role(self, name):
        r = self.find("roles", "roles", name=name)
        if not r:
            r = self._req("POST", "/roles", json={"role": {"name": name}}).json()["role"]
        return r

    def grant(self, project, user, role):
        self._req("PUT", "/projects/%s/users/%s/roles/%s" % (project["id"], user["id"], role["id"]))


def identity():
    ks = Keystone(admin_session())
    admin_role = ks.role("admin")
    member_role = ks.role("member")
    service_role = ks.role("service")
    service_project = ks.ensure("projects", "projects", "project", {"name": "service"},
                                {"name": "service", "domain_id": "default",
                                 "description": "OpenStack service users"})
    for name in SERVICE_USERS:
        user = ks.ensure("users", "users", "user", {"name": name},
                         {"name": name, "domain_id": "default",
                          "password": os.environ["SERVICE_PASSWORD"]})
        ks.grant(service_project, user, admin_role)
        ks.grant(service_project, user, service_role)
    for stype, (name, url) in ENDPOINTS.items():
        svc = ks.ensure("services", "services", "service", {"type": stype},
                        {"type": stype, "name": name, "enabled": True})
        for iface in ("public", "internal", "admin"):
            ks.ensure("endpoints", "endpoints", "endpoint",
                      {"service_id": svc["id"], "interface": iface},
                      {"service_id": svc["id"], "interface": iface, "url": url,
                       "region_id": REGION, "enabled": True})
    project = ks.ensure("projects", "projects", "project", {"name": TEST_PROJECT},
                        {"name": TEST_PROJECT, "domain_id": "default",
                         "description": "Mākonis integration tests"})
    user = ks.ensure("users", "users", "user", {"name": TEST_USER},
                     {"name": TEST_USER, "domain_id": "default",
                      "default_project_id": project["id"],
                      "password": os.environ["TEST_PASSWORD"]})
    ks.grant(project, user, member_role)


def resources():
    sess = admin_session()
    ks = Keystone(sess)
    project = ks.find("projects", "projects", name=TEST_PROJECT)
    user = ks.find("users", "users", name=TEST_USER)
    nova = dict(endpoint_filter={"service_type": "compute", "interface": "public"},
                headers={"OpenStack-API-Version": "compute 2.55"}, raise_exc=True)
    have = {f["name"] for f in sess.get("/flavors", **nova).json()["flavors"]}
    for fid, name, vcpus, ram, disk in FLAVORS:
        if name not in have:
            sess.post("/flavors", json={"flavor": {
                "id": fid, "name": name, "vcpus": vcpus, "ram": ram, "disk": disk,
                "os-flavor-access:is_public": True}}, **nova)
    sess.put("/os-quota-sets/%s" % project["id"], json={"quota_set": QUOTAS}, **nova)

    glance = dict(endpoint_filter={"service_type": "image", "interface": "public"}, raise_exc=True)
    images = sess.get("/v2/images?name=cirros-fake", **glance).json()["images"]
    image = images[0] if images else None
    if image and image["status"] != "active":
        sess.delete("/v2/images/%s" % image["id"], **glance)
        image = None
    if not image:
        image = sess.post("/v2/images", json={
            "name": "cirros-fake", "disk_format": "raw", "container_format": "bare",
            "visibility": "public", "min_disk": 0, "min_ram": 0}, **glance).json()
        # A few KB: the fake driver never reads it, nova only needs it to exist.
        data = b"MAKONIS-FAKE-IMAGE\n" + bytes(4096 - 19)
        sess.put("/v2/images/%s/file" % image["id"], data=data,
                 headers={"Content-Type": "application/octet-stream"}, **glance)

    cred_file = os.path.join(STATE, "appcred.json")
    cred = None
    if os.path.exists(cred_file):
        with open(cred_file) as f:
            cred = json.load(f)
        # still valid?
        probe = v3.ApplicationCredential(auth_url=AUTH_URL,
                                         application_credential_id=cred["id"],
                                         application_credential_secret=cred["secret"])
        try:
            ks_session.Session(auth=probe).get_token()
        except Exception:
            cred = None
    if cred is None:
        user_sess = ks_session.Session(auth=v3.Password(
            auth_url=AUTH_URL, username=TEST_USER, password=os.environ["TEST_PASSWORD"],
            project_name=TEST_PROJECT, user_domain_name="Default",
            project_domain_name="Default"))
        uk = Keystone(user_sess)
        path = "/users/%s/application_credentials" % user["id"]
        for old in uk._req("GET", path + "?name=makonis-tests").json()["application_credentials"]:
            uk._req("DELETE", path + "/" + old["id"])
        c = uk._req("POST", path, json={"application_credential": {
            "name": "makonis-tests", "unrestricted": True,
            "description": "Mākonis OpenStack driver tests"}}).json()["application_credential"]
        cred = {"id": c["id"], "secret": c["secret"]}
        with open(cred_file + ".tmp", "w") as f:
            json.dump(cred, f)
        os.chmod(cred_file + ".tmp", 0o600)
        os.rename(cred_file + ".tmp", cred_file)

    env = [
        ("OS_AUTH_URL", AUTH_URL),
        ("OS_REGION_NAME", REGION),
        ("OS_APPLICATION_CREDENTIAL_ID", cred["id"]),
        ("OS_APPLICATION_CREDENTIAL_SECRET", cred["secret"]),
        ("OS_PROJECT_ID", project["id"]),
        ("OS_PROJECT_NAME", TEST_PROJECT),
        ("OS_ADMIN_USERNAME", "admin"),
        ("OS_ADMIN_PASSWORD", os.environ["ADMIN_PASSWORD"]),
        ("OS_ADMIN_PROJECT_NAME", "admin"),
        ("OS_USER_DOMAIN_NAME", "Default"),
        ("OS_PROJECT_DOMAIN_NAME", "Default"),
    ]
    env_file = os.path.join(STATE, "openstack.env")
    with open(env_file + ".tmp", "w") as f:
        f.write("".join("%s=%s\n" % kv for kv in env))
    os.chmod(env_file + ".tmp", 0o600)
    os.rename(env_file + ".tmp", env_file)


if __name__ == "__main__":
    {"identity": identity, "resources": resources}[sys.argv[1]]()
