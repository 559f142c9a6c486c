"""Settings: layering, validation errors that name the key and the source, masking."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from attendance.config import Settings, env_names, load_settings, mask_url
from attendance.errors import ConfigError

CONFIGS = Path(__file__).parents[1] / "configs"


def test_default_file_matches_built_in_defaults():
    """configs/default.toml documents the defaults; it must not drift from them."""
    from_file = load_settings(CONFIGS / "default.toml", env={})
    assert from_file == Settings()


def test_cluster_file_is_valid_and_names_postgres_and_redis():
    settings = load_settings(CONFIGS / "cluster.toml", env={})
    assert settings.database.url.startswith("postgresql://")
    assert settings.redis.url == "redis://127.0.0.1:6379/0"


def test_layers_file_then_environment_then_option(tmp_path: Path):
    path = tmp_path / "a.toml"
    path.write_text('[database]\nurl = "sqlite:///from-file.db"\npool_size = 7\n')
    env = {"ATTENDANCE_DATABASE_URL": "sqlite:///from-env.db", "ATTENDANCE_DATABASE_ECHO": "true"}
    settings = load_settings(path, env=env)
    assert settings.database.url == "sqlite:///from-env.db"
    assert settings.database.pool_size == 7
    assert settings.database.echo is True
    settings = load_settings(path, env=env, overrides={"database.url": "sqlite:///opt.db"})
    assert settings.database.url == "sqlite:///opt.db"


def test_config_file_chosen_by_environment(tmp_path: Path):
    path = tmp_path / "b.toml"
    path.write_text('[sites]\ntimezone = "Asia/Bangkok"\n')
    assert load_settings(env={"ATTENDANCE_CONFIG": str(path)}).sites.timezone == "Asia/Bangkok"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[database]\nurll = "x"\n', "database.urll: unknown key; expected one of: url"),
        ("[databse]\n", "databse: unknown key; expected one of: database, "),
        ('[database]\npool_size = "many"\n', "database.pool_size: Input should be a valid integer"),
        ("[database]\npool_size = 0\n", "database.pool_size: Input should be greater than"),
        ('[database]\nurl = "not a url"\n', "database.url: expected an SQLAlchemy URL"),
        ('[database]\nurl = "mysql://h/db"\n', "database must be one of sqlite, postgresql"),
        ('[database]\nurl = "postgresql://h"\n', "must name the database"),
        ('[redis]\nurl = "http://h:6379"\n', "redis.url: expected a URL such as redis://"),
        (
            '[sites]\ntimezone = "Mars/Olympus"\n',
            "sites.timezone: unknown time zone 'Mars/Olympus'",
        ),
        ("database = 3\n", "database: expected a [database] table"),
        ("[database\n", "not valid TOML"),
    ],
)
def test_bad_file_names_file_and_key(tmp_path: Path, content: str, expected: str):
    path = tmp_path / "bad.toml"
    path.write_text(content)
    with pytest.raises(ConfigError) as error:
        load_settings(path, env={})
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_bad_environment_variable_is_named():
    with pytest.raises(ConfigError, match="environment variable ATTENDANCE_DATABASE_POOL_SIZE"):
        load_settings(env={"ATTENDANCE_DATABASE_POOL_SIZE": "x"})
    with pytest.raises(ConfigError, match="ATTENDANCE_DATABSE_URL: unknown setting"):
        load_settings(env={"ATTENDANCE_DATABSE_URL": "sqlite://"})


def test_missing_file_is_an_error(tmp_path: Path):
    with pytest.raises(ConfigError, match="configuration file not found"):
        load_settings(tmp_path / "nope.toml", env={})


def test_every_setting_has_one_environment_variable_and_a_description():
    names = env_names()
    assert len(set(names.values())) == len(names)
    for section, field in Settings.model_fields.items():
        for key, sub in field.annotation.model_fields.items():
            assert f"ATTENDANCE_{section}_{key}".upper() in names
            assert sub.description, f"{section}.{key} needs a description"


def test_every_key_of_the_example_files_is_known():
    for path in CONFIGS.glob("*.toml"):
        for section, values in tomllib.loads(path.read_text()).items():
            assert section in Settings.model_fields, path
            assert set(values) <= set(Settings.model_fields[section].annotation.model_fields)


def test_passwords_are_masked():
    assert mask_url("postgresql://app:s3cret@db/x") == "postgresql://app:***@db/x"
    assert mask_url("rtsp://admin:12345@10.0.0.5:554/live") == "rtsp://admin:***@10.0.0.5:554/live"
    assert mask_url("sqlite:///var/a.db") == "sqlite:///var/a.db"


def test_a_bad_secret_is_refused_without_being_echoed():
    with pytest.raises(ConfigError) as refused:
        load_settings(env={"ATTENDANCE_WEB_OPS_TOKEN": "tooshort-secret"})
    assert "web.ops_token: the ops token needs at least 16 characters" in str(refused.value)
    assert "tooshort-secret" not in str(refused.value)


def test_address_lists_come_from_a_variable_separated_by_commas():
    env = {
        "ATTENDANCE_WEB_OPS_ALLOW": "10.0.0.0/8, 192.0.2.7",
        "ATTENDANCE_WEB_OPS_TOKEN": "x" * 16,
    }
    settings = load_settings(env=env)
    assert [str(n) for n in settings.web.ops_allow] == ["10.0.0.0/8", "192.0.2.7/32"]
    assert settings.model_dump()["web"]["ops_token"] == "***"
    with pytest.raises(ConfigError, match=r"web\.trusted_proxies"):
        load_settings(env={"ATTENDANCE_WEB_TRUSTED_PROXIES": "not-an-address"})
