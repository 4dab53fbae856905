from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from purpose_desktop.config import (
    HOME_ENV,
    Paths,
    ServerSetting,
    Settings,
    check_store_url,
    load_settings,
    save_settings,
)
from purpose_desktop.errors import UserError


def test_home_variable_names_every_path_below_it(tmp_path: Path) -> None:
    paths = Paths.from_environment({HOME_ENV: str(tmp_path / "elsewhere")})
    written = [
        paths.settings_file,
        paths.window_state_file,
        paths.database_file,
        paths.models_dir,
        paths.workspaces_dir,
        paths.teams_dir,
        paths.logs_dir,
        paths.log_file,
    ]
    for path in written:
        assert path.is_relative_to(tmp_path / "elsewhere"), path


def test_default_home_is_the_user_data_directory() -> None:
    import platformdirs

    paths = Paths.from_environment({})
    assert paths.home == Path(platformdirs.user_data_dir("purpose-desktop", appauthor=False))


def test_settings_round_trip(home: Paths) -> None:
    settings = Settings(
        n_threads=3,
        context_size=1024,
        last_team_file="/x/team.yaml",
        ollama_host="http://10.0.0.2:11434",
        servers=(ServerSetting("lab", "http://10.0.0.3:8000/v1"),),
    )
    save_settings(home, settings)
    assert load_settings(home) == settings


def kept_aside(home: Paths) -> list[str]:
    """The contents of the settings files kept aside, oldest first."""
    copies = sorted(home.home.glob("settings.json.bad-*"), key=lambda p: p.stat().st_mtime_ns)
    return [copy.read_bytes().decode("latin-1") for copy in copies]


def test_unreadable_settings_are_kept_aside_not_lost(home: Paths) -> None:
    home.settings_file.write_text("{ this is not json", encoding="utf-8")
    problems: list[str] = []
    assert load_settings(home, problems) == Settings()
    assert kept_aside(home) == ["{ this is not json"]
    assert not home.settings_file.exists()
    (problem,) = problems
    assert problem.startswith(
        f"{home.settings_file} could not be read (Expecting property name enclosed in double quotes"
    )
    assert re.search(r"it was kept as settings\.json\.bad-\d{8}-\d{6} and the default", problem)


def test_a_second_broken_settings_file_never_overwrites_the_first_one_kept(home: Paths) -> None:
    for number in range(1, 8):  # within a second or two: the names must still differ
        home.settings_file.write_text(f"broken {number}", encoding="utf-8")
        load_settings(home)
    assert kept_aside(home) == [f"broken {number}" for number in range(3, 8)]  # the newest 5


@pytest.mark.parametrize(
    "text",
    [
        "[" * 100_000,
        '{"a": ' * 5000 + "1" + "}" * 5000,
        "\xff\xfe{",
        "[]",
        '{"n_threads": 1' + "0" * 5000 + "}",
    ],
)
def test_settings_no_json_reader_can_take_are_set_aside_never_raised(
    home: Paths, text: str
) -> None:
    home.settings_file.write_bytes(text.encode("latin-1"))
    problems: list[str] = []
    assert load_settings(home, problems) == Settings()
    assert len(problems) == 1
    assert kept_aside(home) == [text]


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ("n_threads", 100_000, "it must be from 1 to 256, not 100,000"),
        ("max_answer_tokens", 1_000_000_000_000, "it must be from 1 to 32,768"),
        ("n_threads", 10**400, "it must be from 1 to 256, not a number that large"),
        ("context_size", True, "it must be a whole number, not True"),
        ("model_memory_mib", 0, "it must be from 64 to 16,777,216, not 0"),
        ("n_threads", None, "it must be given"),
        ("ollama_host", 5, "it must be text"),
        ("last_team_file", "\ud800.yaml", "it is not valid text"),
    ],
)
def test_a_value_out_of_range_is_refused_by_name_and_the_rest_kept(
    home: Paths, key: str, value: object, why: str
) -> None:
    home.settings_file.write_text(
        json.dumps({"context_size": 1024, "n_threads": 2, key: value}), encoding="utf-8"
    )
    problems: list[str] = []
    settings = load_settings(home, problems)
    (problem,) = problems
    assert problem.startswith(f"Settings: {key} = ")
    assert why in problem
    assert problem.endswith("the default is used")
    assert getattr(settings, key) == getattr(Settings(), key)
    kept = {"context_size": 1024, "n_threads": 2}
    kept.pop(key, None)
    assert {name: getattr(settings, name) for name in kept} == kept
    assert home.settings_file.exists()


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://db.example.org/purpose",
        "postgresql+psycopg://me@host:5433/runs",
    ],
)
def test_database_urls_the_store_can_use_are_taken(url: str) -> None:
    assert check_store_url(url, "store_url") == url


def test_a_sqlite_url_by_absolute_path_in_a_folder_that_exists_is_taken(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/runs.sqlite3"
    assert check_store_url(url, "store_url") == url


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("notaurl", "'notaurl' is not a database URL the app can use"),
        ("runs.sqlite3", "is not a database URL"),
        ("mysql://localhost/db", "is not a database URL"),
        ("sqlite:///runs.sqlite3", "must name a SQLite file by its absolute path"),
        ("sqlite://", "must name a SQLite file by its absolute path"),
        ("sqlite:///:memory:", "must name a SQLite file by its absolute path"),
        ("sqlite:////nonexistent/dir/x.db", "the folder of /nonexistent/dir/x.db does not exist"),
        ("postgresql://", "names no PostgreSQL server or database"),
    ],
)
def test_a_store_url_the_store_cannot_use_is_refused_naming_where_it_was_set(
    url: str, why: str
) -> None:
    with pytest.raises(UserError) as caught:
        check_store_url(url, "settings.json: store_url")
    assert str(caught.value).startswith("settings.json: store_url: ")
    assert why in str(caught.value)
    assert not Path("/nonexistent").exists()


def test_unknown_settings_keys_are_ignored(home: Paths) -> None:
    home.settings_file.write_text(json.dumps({"context_size": 512, "future": 1}), "utf-8")
    assert load_settings(home).context_size == 512


@pytest.mark.parametrize("threads", [1, 2])
def test_thread_setting_is_explicit(home: Paths, threads: int) -> None:
    save_settings(home, Settings(n_threads=threads))
    assert load_settings(home).n_threads == threads


def test_a_bad_setting_falls_back_alone(home: Paths) -> None:
    home.settings_file.write_text(
        json.dumps(
            {
                "context_size": 1024,
                "model_memory_mib": "4096",
                "n_threads": -1,
                "servers": [
                    {"name": "lab", "base_url": "http://10.0.0.3:8000/v1", "api_key": "ignored"},
                    {"name": 5},
                ],
            }
        ),
        encoding="utf-8",
    )
    settings = load_settings(home)
    assert settings.context_size == 1024
    assert settings.model_memory_mib is None
    assert settings.n_threads == Settings().n_threads
    assert settings.servers == (ServerSetting("lab", "http://10.0.0.3:8000/v1"),)
    assert home.settings_file.exists()  # nothing set aside: the good values were kept


def test_a_server_whose_name_cannot_be_shown_is_refused_and_the_others_kept(home: Paths) -> None:
    home.settings_file.write_text(
        json.dumps(
            {
                "servers": [
                    {"name": "lab", "base_url": "http://10.0.0.3:8000/v1"},
                    {"name": "\u001b[2Jowned", "base_url": "http://10.0.0.4:8000/v1"},
                    {"name": "../keys", "base_url": "http://10.0.0.5:8000/v1"},
                ]
            }
        ),
        encoding="utf-8",
    )
    problems: list[str] = []
    settings = load_settings(home, problems)
    assert settings.servers == (ServerSetting("lab", "http://10.0.0.3:8000/v1"),)
    assert len(problems) == 2
    assert "its name holds the control character U+001B" in problems[0]
    assert "its name '../keys' must not contain '/'" in problems[1]
    assert all(problem.startswith("Settings: servers = ") for problem in problems)
