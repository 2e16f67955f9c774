"""nginx's configuration for the central server: the site (TLS, upstream app servers, security
headers, the ACME challenge location) and a whole nginx.conf for tests and benchmarks.

Written by provisioning/central.py; the tests and benchmarks/heartbeats.py build their nginx from
the same functions (central.py re-exports them). Standard library only.
"""

from __future__ import annotations

from pathlib import Path

from central_certbot import ACME_WEBROOT
from central_restart import FAIL_TIMEOUT_S

INSTALLED_STATIC_DIR = Path("/opt/anjungan/central_server/static")
# Above the largest body any route accepts (a kiosk's command result with its logs, [limits]
# max_command_result_bytes = 8 MiB + 64 KiB); the app servers enforce each route's own limit.
CLIENT_MAX_BODY = "9m"
# The headers of what nginx answers itself (static files, its 301/404/413/502 pages); an app
# server's answers carry their own (central_server/security.py), so these are added only to
# responses without them. Nothing nginx serves runs script or is framed.
NGINX_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; style-src 'self'; frame-ancestors 'none'; "
     "base-uri 'none'; form-action 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)  # fmt: skip
# nginx closes an upstream connection idle this long (central_server/drain.py: a stopping app
# server waits for that, DRAIN_S at most, before closing any itself)
UPSTREAM_KEEPALIVE_S = 15
HSTS = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def _var(name: str) -> str:
    """A header's name as nginx spells it in variables ($upstream_http_..., $anjungan_...)."""
    return name.lower().replace("-", "_")


def _header_maps() -> str:
    """One variable per header: its value when the upstream sent no such header, else empty
    (nginx's add_header skips empty values)."""
    return "\n".join(
        f'map $upstream_http_{_var(name)} $anjungan_{_var(name)} {{\n    "" "{value}";\n'
        '    default "";\n}'
        for name, value in (*NGINX_HEADERS, HSTS)
    )


def _add_headers(headers: tuple[tuple[str, str], ...]) -> str:
    """The add_header lines of a server block (`always`: error answers too)."""
    return "\n    ".join(f"add_header {name} $anjungan_{_var(name)} always;" for name, _ in headers)


def nginx_site(
    *,
    server_name: str,
    app_ports: tuple[int, ...],
    cert: Path,
    key: Path,
    static_dir: Path = INSTALLED_STATIC_DIR,
    https_listen: str = "443",
    http_listen: str | None = "80",
    access_log: str = "/var/log/nginx/anjungan-central.access.log",
    acme_webroot: Path = ACME_WEBROOT,
    fail_timeout_s: int = FAIL_TIMEOUT_S,
    upstream_keepalive_s: int = UPSTREAM_KEEPALIVE_S,
) -> str:
    """The http-level part of nginx's config: the upstream app servers and the servers.

    Only requests for `server_name` or 127.0.0.1 (the names self_signed_cert certifies: a check
    on the machine itself) reach the app servers: any other Host, or none, lands on a default
    server that closes the connection unanswered (444). The plain-HTTP redirect goes to
    `server_name`, never to the Host the client sent; only an ACME challenge's file in
    `acme_webroot` is answered over plain HTTP (certbot's webroot: `--certbot`).
    `fail_timeout_s`: how long an app server that refused a connection gets no request (a
    rolling restart waits it out after each one: central_restart.rolling_restart's settle_s);
    `upstream_keepalive_s`: how long nginx keeps an idle connection to an app server (a
    stopping one waits until nginx closed every one: central_server/drain.py).
    """
    names = " ".join(dict.fromkeys((server_name, "127.0.0.1")))
    upstreams = "\n".join(
        f"    server 127.0.0.1:{port} max_fails=1 fail_timeout={fail_timeout_s}s;"
        for port in app_ports
    )
    log = (
        "access_log off;"
        if access_log == "off"
        else (f"access_log {access_log} combined buffer=64k flush=5s;")
    )
    # the TLS settings of a handshake without SNI (clients naming an IP address) are the
    # default server's: both servers carry the same
    tls = f"""ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:anjungan:10m;
    ssl_session_timeout 1h;"""
    https_port = https_listen.split()[0].rsplit(":", 1)[-1]
    https_origin = f"https://{server_name}" + ("" if https_port == "443" else f":{https_port}")
    redirect = (
        ""
        if http_listen is None
        else f"""
server {{
    listen {http_listen} default_server;
    server_name "";
    server_tokens off;
    {log}
    return 444;                 # a Host name that is not this site's (or none): no answer
}}

server {{
    listen {http_listen};
    server_name {names};
    server_tokens off;
    {_add_headers(NGINX_HEADERS)}

    # certbot's HTTP-01 challenges (--certbot, and its renewals): a token's file in the
    # webroot, nothing else (no listing, no directory, no symbolic link, no other path)
    location ~ "^/\\.well-known/acme-challenge/[A-Za-z0-9_-]+$" {{
        root {acme_webroot};
        default_type text/plain;
        disable_symlinks on;
        try_files $uri =404;
    }}

    location / {{
        return 301 {https_origin}$request_uri;
    }}
}}
"""
    )
    return f"""# Anjungan central server (provisioning/central.py); app servers on loopback only.
{_header_maps()}

upstream anjungan_central {{
{upstreams}
    keepalive 64;               # reuse connections to the app servers (no connect per request)
    keepalive_requests 100000;
    # below the app servers' own keep-alive (75 s) and their drain on stop (25 s): nginx, not
    # the app server, ends an idle connection, so it never writes a request onto a closing one
    keepalive_timeout {upstream_keepalive_s}s;
}}
{redirect}
server {{
    listen {https_listen} ssl default_server;
    server_name "";
    {tls}
    server_tokens off;
    {log}
    return 444;                 # a Host name that is not this site's (or none): no answer
}}

server {{
    listen {https_listen} ssl;
    server_name {names};
    {tls}
    keepalive_timeout 75s;
    keepalive_requests 100000;  # a kiosk keeps one connection for its heartbeats
    client_max_body_size {CLIENT_MAX_BODY};
    server_tokens off;
    {_add_headers((*NGINX_HEADERS, HSTS))}
    {log}

    location /static/ {{
        alias {static_dir}/;
        expires 1h;
        access_log off;
    }}

    location / {{
        proxy_pass http://anjungan_central;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;  # the name matched above (the app builds no URL from it)
        # replaced, not appended: a client cannot plant an address the app servers believe
        proxy_set_header X-Forwarded-For $remote_addr;
        proxy_set_header X-Forwarded-Proto $scheme;
        # a refused or dead app server: try the next one (POSTs only if not yet sent; the
        # kiosks resend with the same idempotency key otherwise)
        proxy_next_upstream error timeout;
        proxy_next_upstream_tries 3;
        proxy_connect_timeout 2s;
        proxy_read_timeout 60s;
    }}
}}
"""


def nginx_main_conf(
    prefix: Path, site: str, *, user: str | None = None, workers: str = "auto"
) -> str:
    """A whole nginx.conf living under `prefix` (tests and benchmarks; Debian ships its own)."""
    temp = "\n".join(
        f"    {kind}_temp_path {prefix / 'tmp' / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    indented = "\n".join(f"    {line}" if line else "" for line in site.splitlines())
    return f"""{f"user {user};" if user else ""}
worker_processes {workers};
pid {prefix / "nginx.pid"};
error_log {prefix / "error.log"} warn;
events {{
    worker_connections 4096;
}}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
{temp}
{indented}
}}
"""
