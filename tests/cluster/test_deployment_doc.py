"""docs/deployment.md, "Several nodes": its nginx configuration is the one the cluster tests run, nginx
accepts it (TLS form, with a throw-away certificate), and systemd accepts its template unit."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.support.cluster import NGINX, nginx_config

DOC = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "deployment.md")
DOC_NODES = {"a": "10.0.0.11:8888", "b": "10.0.0.12:8888", "c": "10.0.0.13:8888"}
DOC_TLS = ("/etc/ssl/help.example.com/fullchain.pem", "/etc/ssl/help.example.com/privkey.pem")


def block(fence: str, n: int = 0) -> str:
    """The ``n``-th ```fence block of the "Several nodes" section."""
    with open(DOC, encoding="utf-8") as fh:
        text = fh.read()
    section = text[text.index("## Several nodes"):text.index("## Operations")]
    found = re.findall(rf"```{fence}\n(.*?)```", section, re.S)
    assert len(found) > n, f"no ```{fence} block number {n + 1} in 'Several nodes'"
    return found[n]


def doc_rendering() -> str:
    conf = nginx_config(listen="443", nodes=DOC_NODES, tls=DOC_TLS, server_name="help.example.com")
    return "\n".join(line[4:] if line.startswith("    ") else line for line in conf.splitlines()) + "\n"


def test_the_documented_nginx_configuration_is_the_tested_one():
    assert block("nginx") == doc_rendering()


PLAIN_NODES = {"n8801": "127.0.0.1:8801", "n8802": "127.0.0.1:8802", "n8803": "127.0.0.1:8803"}


def plain_rendering() -> str:
    conf = nginx_config(listen="80", nodes=PLAIN_NODES, server_name="help.example.com")
    return "\n".join(line[4:] if line.startswith("    ") else line for line in conf.splitlines()) + "\n"


def test_the_plain_http_first_try_is_the_tested_configuration_and_nginx_accepts_it(tmp_path):
    """#18's operator docs: the plain-HTTP variant for a first try is the rendering the tests run."""
    body = block("nginx", 1)
    assert body == plain_rendering()
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                    f"http {{\naccess_log {tmp_path}/access.log;\n{body}}}\n")
    check = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr


def test_nginx_accepts_the_documented_configuration(tmp_path):
    if not os.path.exists(NGINX):
        pytest.fail("nginx is not installed: apt-get install nginx (the cluster tests run it)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=help.example.com", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    body = block("nginx").replace(DOC_TLS[0], str(cert)).replace(DOC_TLS[1], str(key))
    conf = tmp_path / "nginx.conf"
    conf.write_text(f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
                    f"http {{\naccess_log {tmp_path}/access.log;\n{body}}}\n")
    check = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(conf)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    assert "syntax is ok" in check.stderr


def test_systemd_accepts_the_documented_template_unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.fail("systemd-analyze is not installed: apt-get install systemd (it checks the documented unit)")
    unit = block("ini")
    exe = os.path.join(os.path.dirname(sys.executable), "anysupport")
    unit = unit.replace("/opt/anysupport/.venv/bin/anysupport", exe).replace("User=anysupport\n", "")
    env = tmp_path / "cluster.env"
    env.write_text("ANYSUPPORT_PUBLIC_URL=https://help.example.com\n")
    unit = unit.replace("/etc/anysupport/cluster.env", str(env))
    path = tmp_path / "anysupport@.service"
    path.write_text(unit)
    instance = tmp_path / "anysupport@8801.service"
    instance.symlink_to(path)
    check = subprocess.run(["systemd-analyze", "verify", str(instance)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
