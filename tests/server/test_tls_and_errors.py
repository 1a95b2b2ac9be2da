"""HTTPS/WSS straight from the server, and the JSON answer of an unexpected failure (500)."""

import datetime as dt
import ssl

import tornado.httpclient
import tornado.httpserver
import tornado.netutil
import tornado.websocket
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from anysupport.config import load_config
from anysupport.services import Services
from anysupport.store import Store
from anysupport.web.app import make_app
from anysupport.web.base import BaseHandler, endpoint
from tests.support.client import Api
from tests.support.server import ADMIN_PASSWORD


def self_signed(tmp_path):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


async def test_https_and_wss_when_a_certificate_is_configured(make_server, tmp_path):
    cert, key = self_signed(tmp_path)
    srv = make_server({"tls_cert": cert, "tls_key": key})
    assert srv.url.startswith("https://")
    ctx = ssl.create_default_context(cafile=cert)
    http = tornado.httpclient.AsyncHTTPClient()
    r = await http.fetch(srv.url + "/healthz", ssl_options=ctx)
    assert r.code == 200
    # speaking TLS itself, the server tells browsers never to use plain HTTP for it (static files too)
    assert r.headers["Strict-Transport-Security"] == "max-age=31536000"
    static = await http.fetch(srv.url + "/static/common.js", ssl_options=ctx)
    assert static.headers["Strict-Transport-Security"] == "max-age=31536000"
    login = await http.fetch(srv.url + "/api/v1/auth/login", method="POST", ssl_options=ctx,
                             headers={"Content-Type": "application/json"},
                             body=f'{{"login": "admin", "password": "{ADMIN_PASSWORD}"}}')
    token = __import__("json").loads(login.body)["token"]
    request = tornado.httpclient.HTTPRequest(srv.url.replace("https", "wss") + "/ws", ssl_options=ctx,
                                             headers={"Authorization": f"Bearer {token}"})
    conn = await tornado.websocket.websocket_connect(request)
    assert "hello" in await conn.read_message()
    conn.close()


class Boom(BaseHandler):
    @endpoint(auth="public", summary="fails on purpose")
    async def get(self) -> None:
        raise RuntimeError("boom")


async def test_unexpected_failure_is_json_500(tmp_path, caplog):
    config = load_config(environ={}, overrides={"data_dir": str(tmp_path), "admin_password": "x" * 12})
    store = await Store.open(data_dir=str(tmp_path))
    try:
        app = make_app(Services.build(config, store), extra_routes=[(r"/boom", Boom)])
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = tornado.httpserver.HTTPServer(app)
        server.add_sockets(sockets)
        api = Api(f"http://127.0.0.1:{sockets[0].getsockname()[1]}")
        r = await api.get("/boom", headers={"Accept-Language": "en"})
        assert r.status == 500
        assert r.json == {"error": "internal_error", "message": "The server failed to handle the request."}
        assert "boom" not in r.body.decode()
        # the failure is logged with its traceback, but a token in the query string is masked there too
        assert (await api.get("/boom?token=tok-in-the-query")).status == 500
        assert "RuntimeError: boom" in caplog.text and "token=***" in caplog.text
        assert "tok-in-the-query" not in caplog.text
        assert (await api.get("/healthz")).status == 200
        server.stop()
    finally:
        await store.close()


async def test_tokens_never_reach_the_log(server, admin):
    from tests.support.client import Socket

    sock = await Socket.connect(server.ws_base, admin.token, query_token=True)
    await sock.recv_type("hello")
    sock.close()
    await admin.get("/api/v1/me")
    server.wait_for_log(r"GET /ws\?token=\*\*\*")
    assert admin.token not in server.log_text()
    assert ADMIN_PASSWORD not in server.log_text()


async def test_percent_encoded_secret_names_are_masked_too(server, admin):
    """``tok%65n`` is ``token`` to the server, so it must be to the log: the query is masked decoded."""
    import tornado.websocket

    url = f"{server.ws_base}/ws?tok%65n={admin.token}&x=%41"
    conn = await tornado.websocket.websocket_connect(url)
    assert "hello" in await conn.read_message()  # the server read the token under that name
    conn.close()
    r = await Api(server.url).get("/api/v1/me?TOK%45N=not-a-real-token&pass%77ord=hunter2-in-the-uri")
    assert r.status == 401
    assert (await Api(server.url).get("/static/missing.js?%74oken=static-secret")).status == 404
    server.wait_for_log(r"GET /api/v1/me\?TOKEN=\*\*\*&password=\*\*\*")
    server.wait_for_log(r"GET /ws\?token=\*\*\*&x=A")
    server.wait_for_log(r"GET /static/missing.js\?token=\*\*\*")
    text = server.log_text()
    for secret in (admin.token, "not-a-real-token", "hunter2-in-the-uri", "static-secret", "tok%65n"):
        assert secret not in text, secret


def test_redact_decodes_before_masking():
    from anysupport.web.base import redact

    assert redact("/ws?tok%65n=abc&x=1") == "/ws?token=***&x=1"
    assert redact("/ws?%54%4fKEN=abc") == "/ws?TOKEN=***"
    assert redact("/a?access_token=z&new_password=p&client_secret=s&q=%20") == (
        "/a?access_token=***&new_password=***&client_secret=***&q=+")
    assert redact("/ws?token") == "/ws?token=***"
    assert redact("/plain/path") == "/plain/path"
