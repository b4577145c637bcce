"""Settings: precedence defaults < file < environment < flags, errors, and documentation."""

from __future__ import annotations

from pathlib import Path

import pytest

from collectomics.config import SETTINGS, load_settings
from collectomics.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_precedence(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('store = "from-file.db"\nport = 9000\nhost = "127.0.0.2"\n')
    env = {"COLLECTOMICS_PORT": "9100", "COLLECTOMICS_HOST": "127.0.0.3"}
    s = load_settings({"host": "127.0.0.4"}, config_file=toml, environ=env)
    assert s.store == "from-file.db" and s.sources["store"] == str(toml)
    assert s.port == 9100 and s.sources["port"] == "COLLECTOMICS_PORT"
    assert s.host == "127.0.0.4" and s.sources["host"] == "argument"
    assert s.base_iri == "https://w3id.org/collectomics/" and s.sources["base_iri"] == "default"


def test_table_in_toml_section(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text("[collectomics]\nthreads = 3\n")
    assert load_settings(config_file=toml, environ={}).threads == 3


@pytest.mark.parametrize(
    ("content", "env", "message"),
    [
        ("port = 'eighty'\n", {}, "expects int"),
        ("unknown_thing = 1\n", {}, "unknown setting 'unknown_thing'"),
        ("port = [\n", {}, "cannot read configuration"),
        ("", {"COLLECTOMICS_PORT": "x"}, "COLLECTOMICS_PORT"),
        ("base_iri = 'https://example.org/no-slash'\n", {}, "base_iri must be"),
    ],
)
def test_bad_settings_say_where(
    tmp_path: Path, content: str, env: dict[str, str], message: str
) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text(content)
    with pytest.raises(ConfigError) as err:
        load_settings(config_file=toml, environ=env)
    assert message in str(err.value)


def test_missing_explicit_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(config_file=tmp_path / "absent.toml", environ={})


def test_every_setting_is_documented() -> None:
    doc = (ROOT / "docs" / "settings.md").read_text()
    for setting in SETTINGS:
        assert f"`{setting.name}`" in doc, f"docs/settings.md lacks {setting.name}"
        assert setting.env in doc, f"docs/settings.md lacks {setting.env}"
        assert setting.help in doc, f"docs/settings.md has a stale help text for {setting.name}"


def test_read_limits_default_to_the_settings_defaults() -> None:
    """ReadLimits() (what library callers get) and the resolved settings agree."""
    from collectomics.config import ReadLimits

    assert ReadLimits() == ReadLimits.from_settings(load_settings(environ={}))
    env = {"COLLECTOMICS_MAX_LINE_BYTES": "1000", "COLLECTOMICS_MAX_COMPRESSION_RATIO": "0"}
    limits = ReadLimits.from_settings(load_settings(environ=env))
    assert (limits.max_line_bytes, limits.max_compression_ratio) == (1000, 0)
