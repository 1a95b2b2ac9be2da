import os

import pytest

from anysupport.config import SETTINGS, ConfigError, defaults_as_toml, load_config

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))


def test_shipped_config_file_lists_every_setting_with_its_default():
    with open(os.path.join(ROOT, "config", "anysupport.toml"), encoding="utf-8") as fh:
        assert fh.read() == defaults_as_toml()
    config = load_config(os.path.join(ROOT, "config", "anysupport.toml"), environ={})
    assert config.values == load_config(environ={}).values
    assert {s.name for s in SETTINGS} == set(config.values)


def test_precedence_file_then_environment_then_flags(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text('port = 9000\nhost = "0.0.0.0"\nlog_level = "debug"\n')
    config = load_config(str(path), environ={"ANYSUPPORT_PORT": "9100", "ANYSUPPORT_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1"},
                         overrides={"port": 9200})
    assert config.port == 9200
    assert config.host == "0.0.0.0"
    assert config.log_level == "debug"
    assert config.trusted_proxies == ["10.0.0.0/8", "127.0.0.1"]


@pytest.mark.parametrize(
    "text, key",
    [
        ("prot = 1\n", "prot"),
        ('port = "eighty"\n', "port"),
        ("port = 70000\n", "port"),
        ('log_level = "loud"\n', "log_level"),
        ('trusted_proxies = ["not-an-ip"]\n', "trusted_proxies"),
        ('time_zone = "Mars/Olympus"\n', "time_zone"),
        ('tls_cert = "a.pem"\n', "tls_cert"),
        ('mongo_uri = "postgres://x"\n', "mongo_uri"),
        ("port = \n", "a.toml"),
    ],
)
def test_a_wrong_value_or_unknown_key_names_the_key(tmp_path, text, key):
    path = tmp_path / "a.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=key):
        load_config(str(path), environ={})


def test_unknown_or_wrong_environment_variable_names_it():
    with pytest.raises(ConfigError, match="ANYSUPPORT_PORTT"):
        load_config(environ={"ANYSUPPORT_PORTT": "1"})
    with pytest.raises(ConfigError, match="ANYSUPPORT_TOKEN_TTL"):
        load_config(environ={"ANYSUPPORT_TOKEN_TTL": "soon"})


def test_secrets_are_masked_for_display():
    config = load_config(environ={"ANYSUPPORT_ADMIN_PASSWORD": "s3cret-pass"})
    assert config.public()["admin_password"] == "***"
