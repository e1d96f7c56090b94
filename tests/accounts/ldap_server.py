"""
A real OpenLDAP server for the sign-in tests: Debian's ``slapd`` (``make test`` installs it,
scripts/system-deps.sh), started on a free loopback port with a generated configuration, a CA
and a server certificate, ``security tls=1`` (nothing but StartTLS is answered), and a small
directory: people, groups, a service account and one disabled person (AD's
``userAccountControl`` bit 2, checked with AD's own bitwise matching rule).

``slapd_server`` (a session fixture, one server per pytest worker) returns a :class:`Slapd`;
tests add their own people with :meth:`Slapd.add_person` so they can change them freely.
"""

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BASE = "dc=hospital,dc=test"
PEOPLE = f"ou=people,{BASE}"
GROUPS = f"ou=groups,{BASE}"
ADMIN_DN = f"cn=admin,{BASE}"
SERVICE_DN = f"cn=svl-service,ou=system,{BASE}"
SERVICE_PASSWORD = "service-Secret-1"
PASSWORD = "Directory-Pass-1!"
EDITORS = f"cn=svl-editors,{GROUPS}"
VIEWERS = f"cn=svl-viewers,{GROUPS}"
UPLOADERS = f"cn=svl-uploaders,{GROUPS}"
ROLE_MAP = {EDITORS: "Editor", VIEWERS: "Viewer", UPLOADERS: "Uploader"}
AD_DISABLED = "(userAccountControl:1.2.840.113556.1.4.803:=2)"

SLAPD = shutil.which("slapd") or "/usr/sbin/slapd"
SLAPADD = shutil.which("slapadd") or "/usr/sbin/slapadd"

_SCHEMA = """\
attributetype ( 1.2.840.113556.1.4.8 NAME 'userAccountControl'
  EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.55555.1.1 NAME 'svlAccountControl' SUP top AUXILIARY MAY userAccountControl )
"""


def _person(uid: str, *, name: str, disabled: bool = False) -> str:
    return f"""dn: uid={uid},{PEOPLE}
objectClass: inetOrgPerson
objectClass: svlAccountControl
uid: {uid}
cn: {name}
sn: {name.split()[-1]}
mail: {uid}@hospital.test
userPassword: {PASSWORD}
userAccountControl: {514 if disabled else 512}
"""


def _group(dn: str, members: list[str]) -> str:
    cn = dn.split(",", 1)[0].split("=", 1)[1]
    lines = [f"dn: {dn}", "objectClass: groupOfNames", f"cn: {cn}"]
    # groupOfNames needs a member: the service account stands in for an empty group.
    lines += [f"member: {member}" for member in (members or [SERVICE_DN])]
    return "\n".join(lines) + "\n"


def _base_ldif() -> str:
    return "\n".join(
        [
            f"dn: {BASE}\nobjectClass: dcObject\nobjectClass: organization\ndc: hospital\no: Test Hospital\n",
            f"dn: {PEOPLE}\nobjectClass: organizationalUnit\nou: people\n",
            f"dn: {GROUPS}\nobjectClass: organizationalUnit\nou: groups\n",
            f"dn: ou=system,{BASE}\nobjectClass: organizationalUnit\nou: system\n",
            f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
            f"cn: svl-service\nuserPassword: {SERVICE_PASSWORD}\n",
            _person("alice", name="Alice Surgeon"),
            _person("bob", name="Bob Resident"),
            _person("carol", name="Carol Leaver", disabled=True),
            _group(EDITORS, [f"uid=alice,{PEOPLE}"]),
            _group(VIEWERS, [f"uid=alice,{PEOPLE}", f"uid=bob,{PEOPLE}", f"uid=carol,{PEOPLE}"]),
            _group(UPLOADERS, []),
        ]
    )


def _certificates(folder: Path) -> None:
    """A CA and a server certificate for 127.0.0.1/localhost signed by it (openssl)."""

    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=SVL test CA",
        "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr")
    (folder / "san.cnf").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "2",
        "-extfile", "san.cnf", "-out", "server.pem")  # fmt: skip
    # A CA that signed nothing here: "the wrong CA file" for the certificate-error tests.
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Other CA",
        "-keyout", "other.key", "-out", "other-ca.pem")  # fmt: skip
    for name in ("server.key", "ca.key", "other.key"):
        os.chmod(folder / name, 0o600)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Slapd:
    folder: Path
    port: int
    process: subprocess.Popen | None = None
    counter: list = field(default_factory=lambda: [0])

    @property
    def uri(self) -> str:
        return f"ldap://127.0.0.1:{self.port}"

    @property
    def ca_file(self) -> str:
        return str(self.folder / "ca.pem")

    @property
    def other_ca_file(self) -> str:
        return str(self.folder / "other-ca.pem")

    def settings(self, **overrides) -> dict:
        """The LDAP_* settings (README "Hospital sign-in") for this server."""
        values = {
            "LDAP_SERVER_URI": self.uri,
            "LDAP_ENABLED": True,
            "LDAP_START_TLS": True,
            "LDAP_CA_FILE": self.ca_file,
            "LDAP_BIND_DN": SERVICE_DN,
            "LDAP_BIND_PASSWORD": SERVICE_PASSWORD,
            "LDAP_USER_SEARCH_BASE": PEOPLE,
            "LDAP_USER_FILTER": "(uid=%(user)s)",
            "LDAP_GROUP_SEARCH_BASE": GROUPS,
            "LDAP_GROUP_FILTER": "(objectClass=groupOfNames)",
            "LDAP_GROUP_TYPE": "groupOfNames",
            "LDAP_SUBJECT_ATTRIBUTE": "entryUUID",
            "LDAP_ATTR_EMAIL": "mail",
            "LDAP_ATTR_FULL_NAME": "cn",
            "LDAP_DISABLED_FILTER": AD_DISABLED,
            "LDAP_DEPROVISION_MAX": 25,
            "LDAP_TIMEOUT": 5,
        }
        values.update(overrides)
        return values

    # ---- changing the directory, as its administrators would (ldapmodify over StartTLS)

    def ldif(self, text: str, *, tool: str = "ldapmodify") -> None:
        result = subprocess.run(
            [tool, "-x", "-ZZ", "-H", self.uri, "-D", ADMIN_DN, "-w", "admin-Secret-1"],
            input=text,
            text=True,
            capture_output=True,
            env={**os.environ, "LDAPTLS_CACERT": self.ca_file},
        )
        assert result.returncode == 0, result.stderr

    def add_person(self, uid: str = "", *, groups=(), disabled: bool = False, name: str = "") -> str:
        """A new person (unique uid unless given), member of ``groups``; returns the uid."""
        if not uid:
            self.counter[0] += 1
            uid = f"p{os.getpid()}x{self.counter[0]}"
        self.ldif(_person(uid, name=name or f"Person {uid.title()}", disabled=disabled), tool="ldapadd")
        for group in groups:
            self.join(uid, group)
        return uid

    def join(self, uid: str, group: str) -> None:
        self.ldif(f"dn: {group}\nchangetype: modify\nadd: member\nmember: uid={uid},{PEOPLE}\n")

    def leave(self, uid: str, group: str) -> None:
        self.ldif(f"dn: {group}\nchangetype: modify\ndelete: member\nmember: uid={uid},{PEOPLE}\n")

    def disable(self, uid: str) -> None:
        self.ldif(f"dn: uid={uid},{PEOPLE}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n")

    def enable(self, uid: str) -> None:
        self.ldif(f"dn: uid={uid},{PEOPLE}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 512\n")

    def delete(self, uid: str) -> None:
        self.ldif(f"dn: uid={uid},{PEOPLE}\nchangetype: delete\n")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def start(self) -> None:
        self.process = subprocess.Popen(
            [SLAPD, "-f", str(self.folder / "slapd.conf"), "-h", f"{self.uri}/", "-d", "0"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.folder / "slapd.log", "ab"),  # noqa: SIM115 (slapd owns it)
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"slapd exited: {(self.folder / 'slapd.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("slapd did not start within 20 s")


def start_slapd(folder: Path) -> Slapd:
    if not Path(SLAPD).exists():
        pytest.fail("slapd not found: run `make test` (scripts/system-deps.sh installs slapd and ldap-utils)")
    folder.mkdir(parents=True, exist_ok=True)
    _certificates(folder)
    (folder / "svl.schema").write_text(_SCHEMA)
    (folder / "db").mkdir()
    (folder / "slapd.conf").write_text(
        f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include {folder}/svl.schema
modulepath /usr/lib/ldap
moduleload back_mdb
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
TLSCACertificateFile {folder}/ca.pem
TLSCertificateFile {folder}/server.pem
TLSCertificateKeyFile {folder}/server.key
# Nothing is answered without TLS: proves sign-in really uses StartTLS.
security tls=1
database mdb
maxsize 33554432
suffix "{BASE}"
rootdn "{ADMIN_DN}"
rootpw admin-Secret-1
directory {folder}/db
access to attrs=userPassword by anonymous auth by self write by * none
access to * by users read by * none
"""
    )
    subprocess.run(
        [SLAPADD, "-f", str(folder / "slapd.conf"), "-l", "/dev/stdin"],
        input=_base_ldif(),
        text=True,
        check=True,
        capture_output=True,
    )
    server = Slapd(folder=folder, port=free_port())
    server.start()
    return server


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory):
    server = start_slapd(tmp_path_factory.mktemp("slapd"))
    yield server
    server.stop()
