from __future__ import annotations

import json
from pathlib import Path

import pytest
from purpose_desktop.config import (
    HOME_ENV,
    Paths,
    ServerSetting,
    Settings,
    load_settings,
    save_settings,
)


def test_home_variable_names_every_path_below_it(tmp_path: Path) -> None:
    paths = Paths.from_environment({HOME_ENV: str(tmp_path / "elsewhere")})
    written = [
        paths.settings_file, paths.window_state_file, paths.database_file, paths.models_dir,
        paths.workspaces_dir, paths.teams_dir, paths.logs_dir, paths.log_file,
    ]
    for path in written:
        assert path.is_relative_to(tmp_path / "elsewhere"), path


def test_default_home_is_the_user_data_directory() -> None:
    import platformdirs

    paths = Paths.from_environment({})
    assert paths.home == Path(platformdirs.user_data_dir("purpose-desktop", appauthor=False))


def test_settings_round_trip(home: Paths) -> None:
    settings = Settings(
        n_threads=3, context_size=1024, last_team_file="/x/team.yaml",
        ollama_host="http://10.0.0.2:11434",
        servers=(ServerSetting("lab", "http://10.0.0.3:8000/v1"),),
    )
    save_settings(home, settings)
    assert load_settings(home) == settings


def test_unreadable_settings_are_kept_aside_not_lost(home: Paths) -> None:
    home.settings_file.write_text("{ this is not json", encoding="utf-8")
    assert load_settings(home) == Settings()
    kept = home.settings_file.with_name("settings.json.bad")
    assert kept.read_text(encoding="utf-8") == "{ this is not json"


def test_unknown_settings_keys_are_ignored(home: Paths) -> None:
    home.settings_file.write_text(json.dumps({"context_size": 512, "future": 1}), "utf-8")
    assert load_settings(home).context_size == 512


@pytest.mark.parametrize("threads", [1, 2])
def test_thread_setting_is_explicit(home: Paths, threads: int) -> None:
    save_settings(home, Settings(n_threads=threads))
    assert load_settings(home).n_threads == threads


def test_a_bad_setting_falls_back_alone(home: Paths) -> None:
    home.settings_file.write_text(json.dumps({
        "context_size": 1024,
        "model_memory_mib": "4096",
        "n_threads": -1,
        "servers": [
            {"name": "lab", "base_url": "http://10.0.0.3:8000/v1", "api_key": "ignored"},
            {"name": 5},
        ],
    }), encoding="utf-8")
    settings = load_settings(home)
    assert settings.context_size == 1024
    assert settings.model_memory_mib is None
    assert settings.n_threads == Settings().n_threads
    assert settings.servers == (ServerSetting("lab", "http://10.0.0.3:8000/v1"),)
    assert home.settings_file.exists()  # nothing set aside: the good values were kept
