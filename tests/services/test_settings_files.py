"""The files a deployment configures the portal with: the secrets example documents every setting
under the name the settings really read, the real secrets file stays out of git, and Streamlit
listens on this machine only unless told otherwise."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from services.settings import CloudTarget, Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / ".streamlit" / "secrets.example.toml"
# The example comments every setting out as `#name = value`; prose comments are `# text`.
COMMENTED_OUT = re.compile(r"^#(?=[a-z_]+ = |\[)", re.MULTILINE)
AUTH_KEYS = {"redirect_uri", "cookie_secret", "client_id", "client_secret", "server_metadata_url"}


def uncommented_example() -> str:
    return COMMENTED_OUT.sub("", EXAMPLE.read_text())


@pytest.fixture
def in_deployment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with no PORTAL_* variables: the portal reads .streamlit/secrets.toml
    from where it is started."""
    for name in Settings.model_fields:
        monkeypatch.delenv(f"PORTAL_{name.upper()}", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".streamlit").mkdir()
    return tmp_path / ".streamlit" / "secrets.toml"


def test_the_example_parses_as_toml_as_shipped_and_uncommented() -> None:
    assert tomllib.loads(EXAMPLE.read_text()) == {}  # as shipped it changes nothing
    parsed = tomllib.loads(uncommented_example())
    auth = parsed.pop("auth")
    assert set(auth) == AUTH_KEYS
    assert auth["redirect_uri"].endswith("/oauth2callback")
    unknown = set(parsed) - set(Settings.model_fields)
    assert not unknown, f"not settings the portal reads: {sorted(unknown)}"


def test_the_example_lists_every_setting() -> None:
    listed = set(tomllib.loads(uncommented_example())) - {"auth"}
    missing = set(Settings.model_fields) - listed
    assert not missing, f"settings missing from {EXAMPLE.name}: {sorted(missing)}"


def test_the_example_shows_the_defaults_and_loads_as_the_portal_reads_it(
        in_deployment: Path) -> None:
    in_deployment.write_text(uncommented_example())
    parsed = tomllib.loads(uncommented_example())
    loaded = Settings()
    # The three without a literal default are examples; every other line shows the default.
    assert loaded.database_url == parsed["database_url"]
    assert loaded.broker_url == parsed["broker_url"]
    assert loaded.templates_dir == Path(parsed["templates_dir"])
    defaults = Settings.model_fields
    for name, value in parsed.items():
        if name in ("auth", "database_url", "broker_url", "templates_dir"):
            continue
        default = defaults[name].default
        shown = Path(value).expanduser().resolve() if name == "data_dir" else value
        assert getattr(loaded, name) == shown, name
        assert (default.expanduser().resolve() if name == "data_dir" else default) == shown, name


def test_secrets_toml_keys_are_the_field_names_without_prefix(
        in_deployment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    in_deployment.write_text('region = "eu-west-1"\nPORTAL_CLOUD = "aws"\n'
                             'collect_interval_s = 0\n[auth]\nclient_id = "portal"\n')
    settings = Settings()
    assert settings.region == "eu-west-1" and settings.collect_interval_s == 0
    assert settings.cloud is CloudTarget.EMBEDDED  # the prefixed name is not read from the file
    # An environment variable wins over the file.
    monkeypatch.setenv("PORTAL_REGION", "ap-northeast-2")
    assert Settings().region == "ap-northeast-2"


def test_the_real_secrets_file_is_ignored_by_git() -> None:
    lines = (ROOT / ".gitignore").read_text().splitlines()
    assert ".streamlit/secrets.toml" in lines


def test_streamlit_listens_on_this_machine_only_with_xsrf_protection() -> None:
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["address"] == "127.0.0.1"
    assert server["enableXsrfProtection"] is True
