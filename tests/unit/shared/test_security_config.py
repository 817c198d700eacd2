"""The ``security`` config section: Milvus's defaults, environment overrides, and
startup refusing what Elanus cannot honour yet (authorization, TLS) with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from elanus.cli import main
from elanus.config import ConfigError, load_config


def test_defaults_are_milvus_defaults() -> None:
    security = load_config(environ={}).security
    assert security.authorization_enabled is False
    assert security.default_root_password == "Milvus"
    assert security.tls_mode == 0
    assert (security.tls_cert_file, security.tls_key_file, security.tls_ca_file) == ("", "", "")


def test_environment_overrides_every_key_like_other_sections() -> None:
    security = load_config(
        environ={
            "ELANUS_SECURITY_DEFAULT_ROOT_PASSWORD": "s3cret-root",
            "ELANUS_SECURITY_AUTHORIZATION_ENABLED": "false",
            "ELANUS_SECURITY_TLS_MODE": "0",
            "ELANUS_SECURITY_TLS_CERT_FILE": "/etc/elanus/server.pem",
        }
    ).security
    assert security.default_root_password == "s3cret-root"
    assert security.tls_cert_file == "/etc/elanus/server.pem"


def test_yaml_section_is_read(tmp_path: Path) -> None:
    config_file = tmp_path / "elanus.yaml"
    config_file.write_text("security:\n  default_root_password: another-one\n  tls_mode: 0\n")
    assert load_config(config_file, environ={}).security.default_root_password == "another-one"


@pytest.mark.parametrize(
    ("environ", "reason"),
    [
        ({"ELANUS_SECURITY_TLS_MODE": "1"}, "security.tls_mode 1 is not supported yet"),
        ({"ELANUS_SECURITY_TLS_MODE": "2"}, "security.tls_mode 2 is not supported yet"),
        ({"ELANUS_SECURITY_TLS_MODE": "3"}, "must be 0 (off), 1 (server TLS) or 2 (mutual TLS)"),
        ({"ELANUS_SECURITY_TLS_MODE": "on"}, "ELANUS_SECURITY_TLS_MODE must be a int"),
        (
            {"ELANUS_SECURITY_DEFAULT_ROOT_PASSWORD": "short"},
            "default_root_password must be between 6 and 256",
        ),
        (
            {"ELANUS_SECURITY_DEFAULT_ROOT_PASSWORD": "x" * 257},
            "default_root_password must be between 6 and 256",
        ),
    ],
)
def test_unsupported_or_invalid_settings_are_refused(environ: dict[str, str], reason: str) -> None:
    with pytest.raises(ConfigError) as refused:
        load_config(environ=environ)
    assert reason in str(refused.value)


def test_standalone_refuses_to_start_with_tls_and_says_why(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("ELANUS_SECURITY_TLS_MODE", "1")
    assert main(["standalone", "--data-dir", str(tmp_path / "data"), "--port", "0"]) == 2
    assert "security.tls_mode 1 is not supported yet" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_authorization_can_be_enabled() -> None:
    environ = {"ELANUS_SECURITY_AUTHORIZATION_ENABLED": "true"}
    assert load_config(environ=environ).security.authorization_enabled is True
