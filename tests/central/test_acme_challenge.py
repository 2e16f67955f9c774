"""certbot's HTTP-01 challenge through the real nginx, as provisioning/central.py configures it
(nginx_site, nginx_main_conf) on loopback: a token's file in the ACME webroot is answered over
plain HTTP for the site's names, with the security headers; nothing else is (no listing, no
traversal, no other file, no symbolic link, no other Host): every other path still redirects
to https. certbot itself against an ACME server: tests/test_provisioning_certbot.py.
"""

from __future__ import annotations

import http.client
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.central.conftest import wait_for
from tests.central.deployment import free_port, needs_a_deployment, provisioning

pytestmark = needs_a_deployment
NAME = "anjungan.example.go.id"
TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"  # RFC 8555's example token
KEY_AUTHORIZATION = f"{TOKEN}.9jg46WB3rR_AHD-EBXdN7cBkH1WOu0bA3Q8lNKbMz1E"


class Nginx:
    """nginx with the production site on two loopback ports, the webroot under `tmp`
    (also tests/central/test_renewal_hook.py's: its certificate and key, its command line)."""

    def __init__(self, tmp: Path) -> None:
        prov = provisioning()
        self.webroot = tmp / "acme"
        self.challenges = self.webroot / ".well-known/acme-challenge"
        self.challenges.mkdir(parents=True)
        self.cert, self.key = tmp / "tls/central.crt", tmp / "tls/central.key"
        prov.self_signed_cert(self.cert, self.key, NAME)
        self.http, self.https = free_port(), free_port()
        prefix = tmp / "nginx"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (prefix / "tmp" / kind).mkdir(parents=True)
        site = prov.nginx_site(
            server_name=NAME, app_ports=(free_port(),), cert=self.cert, key=self.key,
            https_listen=f"127.0.0.1:{self.https}", http_listen=f"127.0.0.1:{self.http}",
            access_log="off", acme_webroot=self.webroot,
        )  # fmt: skip
        conf = prefix / "nginx.conf"
        conf.write_text(prov.nginx_main_conf(prefix, site, user="root", workers="1"))
        self.command = ["nginx", "-p", str(prefix), "-c", str(conf)]
        self.process = subprocess.Popen(
            [*self.command, "-g", "daemon off;"], stderr=subprocess.PIPE
        )

    def get(self, path: str, host: str = NAME) -> http.client.HTTPResponse:
        """GET `path` exactly as given (no normalising client in between), Host `host`."""
        conn = http.client.HTTPConnection("127.0.0.1", self.http, timeout=10)
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        response.read()
        conn.close()
        return response

    def body(self, path: str) -> bytes:
        conn = http.client.HTTPConnection("127.0.0.1", self.http, timeout=10)
        conn.request("GET", path, headers={"Host": NAME})
        data = conn.getresponse().read()
        conn.close()
        return data

    def up(self) -> bool:
        assert self.process.poll() is None, self.process.stderr and self.process.stderr.read()
        try:
            self.get("/")
        except OSError:
            return False
        return True


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[Nginx]:
    tmp_path.chmod(0o755)
    server = Nginx(tmp_path)
    try:
        wait_for(server.up, timeout_s=30)
        yield server
    finally:
        server.process.terminate()
        server.process.wait(timeout=30)


def test_a_challenge_file_is_served_over_plain_http_for_the_site_only(nginx: Nginx) -> None:
    (nginx.challenges / TOKEN).write_text(KEY_AUTHORIZATION)
    for host in (NAME, "127.0.0.1"):
        answer = nginx.get(f"/.well-known/acme-challenge/{TOKEN}", host)
        assert answer.status == 200
        assert answer.getheader("Content-Type") == "text/plain"
        assert answer.getheader("X-Content-Type-Options") == "nosniff"
        assert answer.getheader("Content-Security-Policy", "").startswith("default-src 'none'")
    assert nginx.body(f"/.well-known/acme-challenge/{TOKEN}") == KEY_AUTHORIZATION.encode()
    # another Host name (or none): still no answer at all, challenge or not (444)
    with pytest.raises(http.client.RemoteDisconnected):
        nginx.get(f"/.well-known/acme-challenge/{TOKEN}", "evil.example")
    # a token not (or no longer) there: 404, not a redirect certbot would follow to https
    assert nginx.get("/.well-known/acme-challenge/gone-token").status == 404


def test_nothing_but_a_token_file_is_served_and_every_other_path_redirects(
    nginx: Nginx,
) -> None:
    (nginx.challenges / TOKEN).write_text(KEY_AUTHORIZATION)
    (nginx.webroot / "private.txt").write_text("not for the internet")
    (nginx.webroot.parent / "secret.txt").write_text("not for the internet")
    (nginx.challenges / "sub").mkdir()
    (nginx.challenges / "sub" / "file").write_text("in a directory")
    (nginx.challenges / ".hidden").write_text("a dot file")
    (nginx.challenges / "link").symlink_to(nginx.webroot.parent / "secret.txt")
    (nginx.challenges / "dir-token").mkdir()
    redirected = [
        "/",
        "/fleet/",
        "/.well-known/acme-challenge/",  # no listing
        "/.well-known/acme-challenge",
        "/.well-known/acme-challenge/sub/file",
        "/.well-known/acme-challenge/.hidden",
        "/private.txt",
        "/.well-known/acme-challenge/../../private.txt",
        "/.well-known/acme-challenge/%2e%2e/%2e%2e/private.txt",
        f"/.well-known/acme-challenge/{TOKEN}.txt",
        f"/.well-known/acme-challenge/{TOKEN}/",
        f"/x/../.well-known/acme-challenge/{TOKEN}/..",
    ]
    for path in redirected:
        answer = nginx.get(path)
        assert answer.status == 301, path
        assert answer.getheader("Location", "").startswith(f"https://{NAME}:"), path
        assert answer.getheader("X-Frame-Options") == "DENY", path
        assert b"not for the internet" not in nginx.body(path), path
    # above the root once decoded: nginx refuses the request itself
    escape = "/.well-known/acme-challenge/..%2f..%2f..%2fsecret.txt"
    assert nginx.get(escape).status == 400
    assert b"not for the internet" not in nginx.body(escape)
    # a symbolic link in the challenge directory, or a directory named like a token: not files
    assert nginx.get("/.well-known/acme-challenge/link").status in (403, 404)
    assert b"not for the internet" not in nginx.body("/.well-known/acme-challenge/link")
    assert nginx.get("/.well-known/acme-challenge/dir-token").status == 404
    # the normalised path of a traversal that ends at the token is the token: served
    assert nginx.get(f"/.well-known/x/../acme-challenge/{TOKEN}").status == 200
