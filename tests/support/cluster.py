"""Several real nodes on one database behind a real nginx, on loopback ports, for the cluster tests.

``SharedDatabase`` runs the embedded nx-27017 standalone (launched as ``anysupport.store.embedded``
launches it); ``Nodes`` starts ``anysupport serve`` N times with ``--mongo-uri`` of that database and
``cluster = true``; ``Nginx`` runs Debian's nginx as a child process with a configuration written by
the test (its own prefix, pid, logs and temp folders), rendered by ``nginx_config`` from the same
template that docs/deployment.md shows. Everything is stopped by the fixture that started it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time

from anysupport.store.embedded import free_port, launch_program
from tests.support.processes import end_process
from tests.support.server import ServerProcess

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def wait_port(port: int, timeout: float = 20.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with code {process.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), 0.2):
                return
        except OSError:
            time.sleep(0.02)  # a port opening is no event we can wait on
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class SharedDatabase:
    """nx-27017 on its own, as a deployment's one MongoDB (it has no replica set: no change streams)."""

    def __init__(self, folder: str):
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def start(self) -> SharedDatabase:
        os.makedirs(self.folder, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-c", launch_program(os.getpid()), "--data-dir", self.folder, "--host", "127.0.0.1", "--port", str(self.port),
             "--log-file", os.path.join(self.folder, "nx-27017.log"),
             "--pid-file", os.path.join(self.folder, "nx-27017.pid")],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_port(self.port, process=self.process)
        return self

    def stop(self) -> None:
        proc, self.process = self.process, None
        end_process(proc, 10)


def nginx_config(*, listen: str, nodes: dict[str, str], prefix: str | None = None,
                 tls: tuple[str, str] | None = None, server_name: str = "") -> str:
    """The nginx configuration of docs/deployment.md for ``nodes`` (node id → ``host:port``).

    - ``/ws`` (agents' consoles) is balanced by a consistent hash of the token, so a console comes back
      to the same node after a blip, and to another one only when its node is down;
    - ``/node/<id>/ws`` (customers) goes to that node, or to the others (``backup``) while it is down:
      the node reached then sends the customer to the session's new node;
    - the rest (REST, pages) goes to any live node: every node answers every request.

    With ``tls`` (certificate, key) the proxy speaks HTTPS on ``listen`` and redirects plain HTTP.
    """
    paths = ""
    if prefix is not None:  # a test's own nginx: everything under its folder
        paths = (f"    client_body_temp_path {prefix}/body;\n    proxy_temp_path {prefix}/proxy;\n"
                 f"    fastcgi_temp_path {prefix}/fastcgi;\n    uwsgi_temp_path {prefix}/uwsgi;\n"
                 f"    scgi_temp_path {prefix}/scgi;\n    access_log {prefix}/access.log;\n")
    every = "".join(f"        server {address} max_fails=1 fail_timeout=5s;\n" for address in nodes.values())
    per_node = ""
    for node_id, address in nodes.items():
        backups = "".join(f"        server {other} backup;\n" for n, other in nodes.items() if n != node_id)
        per_node += (f"    upstream anysupport_node_{node_id} {{\n        server {address} max_fails=1 fail_timeout=5s;\n"
                     f"{backups}    }}\n")
    names = f"        server_name {server_name};\n" if server_name else ""
    certs = redirect = ""
    if tls:
        certs = (f"        ssl_certificate {tls[0]};\n        ssl_certificate_key {tls[1]};\n"
                 "        ssl_protocols TLSv1.2 TLSv1.3;\n")
        redirect = (f"    server {{\n        listen 80;\n{names}"
                    "        return 301 https://$host$request_uri;\n    }\n")
    return f"""\
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
{paths}    upstream anysupport_any {{
        least_conn;
{every}    }}
    upstream anysupport_consoles {{
        hash $http_authorization$arg_token consistent;
{every}    }}
{per_node}{redirect}    server {{
        listen {listen}{" ssl" if tls else ""};
{names}{certs}        client_max_body_size 2m;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_read_timeout 3600s;
        proxy_connect_timeout 2s;
        proxy_next_upstream error timeout http_502 http_503;

        location = /ws {{
            proxy_pass http://anysupport_consoles;
        }}
        location ~ ^/node/(?<anysupport_node>[A-Za-z0-9_-]+)/ws$ {{
            proxy_pass http://anysupport_node_$anysupport_node;
        }}
        location / {{
            proxy_pass http://anysupport_any;
        }}
    }}
"""


class Nginx:
    def __init__(self, folder: str, nodes: dict[str, str]):
        self.folder = os.path.abspath(folder)
        self.nodes = nodes
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_config(self) -> str:
        os.makedirs(self.folder, exist_ok=True)
        path = os.path.join(self.folder, "nginx.conf")
        body = nginx_config(listen=f"127.0.0.1:{self.port}", nodes=self.nodes, prefix=self.folder)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(f"daemon off;\nworker_processes 1;\npid {self.folder}/nginx.pid;\n"
                     f"error_log {self.folder}/error.log warn;\nevents {{ worker_connections 2048; }}\n"
                     f"http {{\n{body}}}\n")
        return path

    def start(self) -> Nginx:
        if not os.path.exists(NGINX):
            raise RuntimeError("nginx is not installed: apt-get install nginx (the cluster tests run it)")
        path = self.write_config()
        check = subprocess.run([NGINX, "-t", "-p", self.folder, "-c", path], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError("nginx refused the configuration:\n" + check.stderr)
        self.process = subprocess.Popen([NGINX, "-p", self.folder, "-c", path], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_port(self.port, process=self.process)
        return self

    def error_log(self) -> str:
        try:
            with open(os.path.join(self.folder, "error.log"), encoding="utf-8", errors="replace") as fh:
                return fh.read()
        except OSError:
            return ""

    def stop(self) -> None:
        proc, self.process = self.process, None
        end_process(proc, 5, signal.SIGQUIT)  # graceful: workers finish, then the master exits


class Nodes:
    """``count`` nodes (ids a, b, c …) on one database, each on a fixed free port (nginx needs it)."""

    def __init__(self, folder: str, database: SharedDatabase, count: int = 3, **settings):
        self.folder = folder
        self.database = database
        self.ids = [chr(ord("a") + i) for i in range(count)]
        self.ports = {node: free_port() for node in self.ids}
        self.settings = settings
        self.procs: dict[str, ServerProcess] = {}

    def address(self, node: str) -> str:
        return f"127.0.0.1:{self.ports[node]}"

    def url(self, node: str) -> str:
        return f"http://{self.address(node)}"

    def make(self, node: str) -> ServerProcess:
        settings = {"mongo_uri": self.database.uri, "cluster": True, "node_id": node, "port": self.ports[node],
                    "trusted_proxies": ["127.0.0.1/32"], "node_heartbeat": 0.5, "node_timeout": 3.0,
                    **self.settings}
        proc = NodeProcess(os.path.join(self.folder, f"node-{node}"), settings)
        self.procs[node] = proc
        return proc

    def start(self, node: str) -> ServerProcess:
        return (self.procs.get(node) or self.make(node)).start()

    def start_all(self) -> Nodes:
        for node in self.ids:
            self.make(node)
        for proc in self.procs.values():  # the nodes start side by side (they share two cores)
            proc.spawn()
        for proc in self.procs.values():
            proc.wait_listening()
        return self

    def kill(self, node: str) -> int | None:
        return self.procs[node].stop(signal.SIGKILL)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.stop()


class NodeProcess(ServerProcess):
    """``ServerProcess`` on a fixed port, that can be spawned and waited for separately."""

    def spawn(self) -> None:
        import threading

        self._listening.clear()
        port = self.settings["port"]
        self.process = subprocess.Popen(
            [sys.executable, "-m", "anysupport", "serve", "--port", str(port), "--data-dir", self.data_dir],
            env=self.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, encoding="utf-8", errors="replace",
        )
        threading.Thread(target=self._read, args=(self.process,), daemon=True).start()

    def wait_listening(self, timeout: float = 60.0) -> None:
        if not self._listening.wait(timeout):
            self.stop()
            raise RuntimeError("node did not start:\n" + "".join(self.lines[-30:]))

    def start(self, timeout: float = 60.0) -> NodeProcess:
        self.spawn()
        self.wait_listening(timeout)
        return self
